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

export function athenaDdl(settings: ArchiveSettings, options: AthenaDdlOptions = {}): string {
  const table = ident(options.table ?? 'spend_logs');
  const qualified = options.database ? `${ident(options.database)}.${table}` : table;
  const since = options.since ?? '2024-01-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error('--since: a date like 2026-01-01');
  const width = Math.max(...ARCHIVE_COLUMNS.map((c) => c.name.length));
  const columns = ARCHIVE_COLUMNS.map((c) => `  \`${c.name}\`${' '.repeat(width - c.name.length)} ${c.athena}`);
  const location = athenaLocation(settings);
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified} (`,
    columns.join(',\n'),
    ')',
    'PARTITIONED BY (`dt` string, `hour` string)',
    'STORED AS PARQUET',
    `LOCATION '${location}'`,
    'TBLPROPERTIES (',
    "  'projection.enabled' = 'true',",
    "  'projection.dt.type' = 'date',",
    "  'projection.dt.format' = 'yyyy-MM-dd',",
    `  'projection.dt.range' = '${since},NOW',`,
    "  'projection.dt.interval' = '1',",
    "  'projection.dt.interval.unit' = 'DAYS',",
    "  'projection.hour.type' = 'integer',",
    "  'projection.hour.range' = '0,23',",
    "  'projection.hour.digits' = '2',",
    `  'storage.location.template' = '${location}dt=\${dt}/hour=\${hour}/',`,
    `  'parquet.compression' = '${settings.compression.toUpperCase()}'`,
    ');',
  ].join('\n');
}

/** The FOCUS table (`archive focus` / the focus_parquet format): partitions by billing period (`2026-11`). */
export function focusAthenaDdl(settings: ArchiveSettings, options: AthenaDdlOptions = {}): string {
  const table = ident(options.table ?? 'focus');
  const qualified = options.database ? `${ident(options.database)}.${table}` : table;
  const since = (options.since ?? '2024-01-01').slice(0, 7);
  if (!/^\d{4}-\d{2}$/.test(since)) throw new Error('--since: a date like 2026-01-01');
  const width = Math.max(...FOCUS_COLUMNS.map((c) => c.name.length));
  const columns = FOCUS_COLUMNS.map((c) => `  \`${c.name}\`${' '.repeat(width - c.name.length)} ${c.athena}`);
  const location = athenaLocation(settings, 'focus_parquet');
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified} (`,
    columns.join(',\n'),
    ')',
    'PARTITIONED BY (`billing_period` string)',
    'STORED AS PARQUET',
    `LOCATION '${location}'`,
    'TBLPROPERTIES (',
    "  'projection.enabled' = 'true',",
    "  'projection.billing_period.type' = 'date',",
    "  'projection.billing_period.format' = 'yyyy-MM',",
    `  'projection.billing_period.range' = '${since},NOW',`,
    "  'projection.billing_period.interval' = '1',",
    "  'projection.billing_period.interval.unit' = 'MONTHS',",
    `  'storage.location.template' = '${location}billing_period=\${billing_period}/',`,
    `  'parquet.compression' = '${settings.compression.toUpperCase()}'`,
    ');',
  ].join('\n');
}
