// `archive athena-ddl`: the CREATE EXTERNAL TABLE for the configured bucket. Partition projection on dt
// (date range) and hour (00–23) lets Athena find partitions from the path alone: no MSCK REPAIR, no Glue
// crawler, new hours are queryable the moment their objects land.
import { ARCHIVE_COLUMNS } from './columns.js';
import { FOCUS_COLUMNS } from './focus.js';
import { tableRoot } from './layout.js';
import type { ArchiveSettings } from './settings.js';

export interface AthenaDdlOptions {
  table?: string;
  database?: string;
  /** First dt of the projection range (the archive's first day). */
  since?: string;
}

function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a valid Athena name: ${JSON.stringify(name)}`);
  return name;
}

/** Where Athena reads: the bucket for S3, a placeholder bucket for the local folder (upload it as is). */
export function athenaLocation(settings: ArchiveSettings, format: 'parquet' | 'focus_parquet' = 'parquet'): string {
  const bucket = settings.target.kind === 's3' ? settings.target.bucket : 'YOUR-BUCKET';
  return `s3://${bucket}/${tableRoot(settings.prefix, format)}/`;
}

/** The CREATE EXTERNAL TABLE of one Parquet table with partition projection. */
function externalTable(
  settings: ArchiveSettings,
  options: AthenaDdlOptions,
  table: { name: string; format: 'parquet' | 'focus_parquet'; columns: readonly { name: string; athena: string }[] },
  partitions: { columns: string; projection: string[]; template: string },
): string {
  const name = ident(options.table ?? table.name);
  const qualified = options.database ? `${ident(options.database)}.${name}` : name;
  const width = Math.max(...table.columns.map((c) => c.name.length));
  const columns = table.columns.map((c) => `  \`${c.name}\`${' '.repeat(width - c.name.length)} ${c.athena}`);
  const location = athenaLocation(settings, table.format);
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified} (`,
    columns.join(',\n'),
    ')',
    `PARTITIONED BY (${partitions.columns})`,
    'STORED AS PARQUET',
    `LOCATION '${location}'`,
    'TBLPROPERTIES (',
    "  'projection.enabled' = 'true',",
    ...partitions.projection.map((line) => `  ${line},`),
    `  'storage.location.template' = '${location}${partitions.template}',`,
    `  'parquet.compression' = '${settings.compression.toUpperCase()}'`,
    ');',
  ].join('\n');
}

function sinceDate(options: AthenaDdlOptions): string {
  const since = options.since ?? '2024-01-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error('--since: a date like 2026-01-01');
  return since;
}

/** Athena partition projection of a date column, from `since` to now in steps of one `unit`. */
function dateProjection(column: string, format: string, since: string, unit: 'DAYS' | 'MONTHS'): string[] {
  return [
    `'projection.${column}.type' = 'date'`,
    `'projection.${column}.format' = '${format}'`,
    `'projection.${column}.range' = '${since},NOW'`,
    `'projection.${column}.interval' = '1'`,
    `'projection.${column}.interval.unit' = '${unit}'`,
  ];
}

export function athenaDdl(settings: ArchiveSettings, options: AthenaDdlOptions = {}): string {
  return externalTable(
    settings,
    options,
    { name: 'spend_logs', format: 'parquet', columns: ARCHIVE_COLUMNS },
    {
      columns: '`dt` string, `hour` string',
      projection: [
        ...dateProjection('dt', 'yyyy-MM-dd', sinceDate(options), 'DAYS'),
        "'projection.hour.type' = 'integer'",
        "'projection.hour.range' = '0,23'",
        "'projection.hour.digits' = '2'",
      ],
      template: `dt=\${dt}/hour=\${hour}/`,
    },
  );
}

/** The FOCUS table (`archive focus` / the focus_parquet format): partitions by billing period (`2026-11`). */
export function focusAthenaDdl(settings: ArchiveSettings, options: AthenaDdlOptions = {}): string {
  return externalTable(
    settings,
    options,
    { name: 'focus', format: 'focus_parquet', columns: FOCUS_COLUMNS },
    {
      columns: '`billing_period` string',
      projection: [...dateProjection('billing_period', 'yyyy-MM', sinceDate(options).slice(0, 7), 'MONTHS')],
      template: `billing_period=\${billing_period}/`,
    },
  );
}
