// `npm run archive -- <command>`: export (backfill a range), focus (FOCUS 1.2 files of a range), verify
// (archive vs ClickHouse per window), athena-ddl (CREATE EXTERNAL TABLE with partition projection), query
// (DuckDB SQL over the archive).
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { migrate } from '../clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../clickhouse/plugin.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { AppConfig } from '../config/load.js';
import { createRedis } from '../redis/plugin.js';
import { athenaDdl, focusAthenaDdl } from './athenaDdl.js';
import { archiveContext, exportRange } from './exporter.js';
import { parseInstant, windowLabel } from './layout.js';
import { formatTable, localArchive, openArchiveSession } from './reader.js';
import { FOCUS_FORMATS, type SpendFormat } from './settings.js';
import { type ArchiveStore, openStore } from './store.js';
import { VERIFY_COLUMNS, verifyArchive, verifyTableRows } from './verify.js';

const USAGE = `usage: npm run archive -- <command> [options]
  export --from ISO --to ISO [--force]   export closed windows in the range (re-run safe; --force rewrites)
  focus --from ISO --to ISO [--force]    FOCUS 1.2 Parquet + CSV of the range, by billing period (docs/finops.md)
  verify [--from ISO] [--to ISO]         archive totals vs ClickHouse per window; exit 1 on mismatch
  athena-ddl [--focus] [--table T] [--database D] [--since YYYY-MM-DD]
  query "SELECT … FROM spend_logs …" [--format parquet|jsonl] [--from ISO] [--to ISO]
options: --config FILE (default: CONFIG_FILE_PATH, else config.demo.yaml)`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      from: { type: 'string' },
      to: { type: 'string' },
      force: { type: 'boolean' },
      format: { type: 'string' },
      table: { type: 'string' },
      database: { type: 'string' },
      since: { type: 'string' },
      focus: { type: 'boolean' },
    },
  });
}

/** ClickHouse (migrated, so the manifest table exists), Redis (window locks) and the store, closed after. */
async function withServices<T>(
  config: AppConfig,
  fn: (warehouse: Warehouse, store: ArchiveStore, redis: Redis) => Promise<T>,
): Promise<T> {
  await ensureDatabase(config.clickhouse);
  const warehouse = createWarehouse(config.clickhouse);
  const redis = createRedis(config.redis);
  const store = openStore(config.archive.target);
  try {
    await migrate(warehouse, redis);
    return await fn(warehouse, store, redis);
  } finally {
    store.close();
    await warehouse.client.close();
    redis.disconnect();
  }
}

/**
 * `export`, or `focus`: the FOCUS formats only, under a manifest of their own (`<destination>#focus`), so a
 * FOCUS backfill neither counts as nor waits for the configured archive's export of the same windows.
 */
async function runExport(config: AppConfig, from: number, to: number, force: boolean, focus: boolean): Promise<number> {
  return withServices(config, async (warehouse, store, redis) => {
    const settings = focus ? { ...config.archive, formats: [...FOCUS_FORMATS] } : config.archive;
    const ctx = archiveContext(warehouse, redis, settings, store);
    if (focus) ctx.destination = `${ctx.destination}#focus`;
    ctx.backoff = {
      attempts: 8,
      baseMs: 500,
      maxMs: 10_000,
      onRetry: (err, attempt, waitMs) =>
        console.error(`  store error (${err.message}); retry ${attempt} in ${waitMs} ms`),
    };
    console.log(`exporting to ${ctx.destination}`);
    const results = await exportRange(ctx, from, to, {
      force,
      onWindow: (r) => console.log(`  ${windowLabel(r.windowStart)}  ${r.outcome.padEnd(9)} ${r.rows} rows`),
    });
    const exported = results.filter((r) => r.outcome === 'exported').length;
    const locked = results.filter((r) => r.outcome === 'locked').length;
    console.log(`${exported} exported, ${results.length - exported - locked} already current`);
    if (locked) console.log(`${locked} being exported by a worker right now (run again to confirm)`);
    return 0;
  });
}

async function runQuery(config: AppConfig, query: string, format: SpendFormat, range: { from?: number; to?: number }) {
  const store = openStore(config.archive.target);
  const archive = await localArchive(config.archive, store, format, range);
  try {
    if (archive.files === 0) {
      console.error(`the archive has no ${format} files yet (${archive.root})`);
      return 1;
    }
    const session = await openArchiveSession(archive, format);
    try {
      const reader = await session.conn.runAndReadAll(query);
      const rows = reader.getRowsJson() as unknown[][];
      const cells = rows.map((row) => row.map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v)));
      console.log(formatTable(reader.columnNames(), cells));
      console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
      return 0;
    } finally {
      session.close();
    }
  } finally {
    store.close();
    await archive.cleanup();
  }
}

function formatOption(value: string | undefined): SpendFormat {
  if (value === undefined || value === 'parquet' || value === 'jsonl') return value ?? 'parquet';
  throw new Error('--format: parquet or jsonl');
}

/** Runs one archive command; returns the exit code. `load` reads the config (exits on a bad file). */
export async function runArchiveCli(argv: string[], load: (configPath?: string) => AppConfig): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  const instant = (text: string | undefined, name: string) => (text ? parseInstant(text, name) : undefined);
  const from = instant(values.from, '--from');
  const to = instant(values.to, '--to');
  switch (command) {
    case 'export':
    case 'focus': {
      if (from === undefined || to === undefined) throw new Error(`${command} needs --from and --to`);
      return runExport(load(values.config), from, to, values.force ?? false, command === 'focus');
    }
    case 'verify': {
      const config = load(values.config);
      const rows = await withServices(config, (warehouse, store) =>
        verifyArchive(warehouse, config.archive, store, { from: from ?? 0, to: to ?? Date.now() / 1000 }),
      );
      console.log(formatTable(VERIFY_COLUMNS, verifyTableRows(rows)));
      const bad = rows.filter((r) => r.check === 'missing' || r.check === 'mismatch');
      console.log(bad.length ? `${bad.length} window(s) differ` : `${rows.length} window(s) checked, all match`);
      return bad.length ? 1 : 0;
    }
    case 'athena-ddl': {
      const ddl = values.focus ? focusAthenaDdl : athenaDdl;
      console.log(
        ddl(load(values.config).archive, { table: values.table, database: values.database, since: values.since }),
      );
      return 0;
    }
    case 'query': {
      const query = rest.join(' ').trim();
      if (!query) throw new Error('query needs SQL, e.g. query "SELECT count(*) FROM spend_logs"');
      return runQuery(load(values.config), query, formatOption(values.format), { from, to });
    }
    default:
      console.error(USAGE);
      return 2;
  }
}
