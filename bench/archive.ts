// Archive export speed. Two parts, printed as JSON and as a table:
//  1. Parquet writers side by side on the same in-memory rows (the 31 archive columns): parquetjs-lite (the
//     named candidate), DuckDB's writer (what the archive uses), and hyparquet-writer when it is installed.
//  2. The real export path: a ClickHouse window of ROWS rows → JSONEachRow file → DuckDB → Parquet (+ JSONL),
//     with the two phases timed apart.
// Run: CLICKHOUSE_URL=… REDIS_URL=… npx tsx bench/archive.ts   (ROWS=200000 WRITER_ROWS=100000 by default)
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamWindowRows } from '../src/archive/source.js';
import { writeWindowFiles } from '../src/archive/windowWriter.js';
import { migrate } from '../src/clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../src/clickhouse/sql.js';
import { loadConfig } from '../src/config/load.js';
import { createRedis } from '../src/redis/plugin.js';
import { benchRows, writeWithDuckDb, writeWithHyparquet, writeWithParquetjsLite } from './archiveWriters.js';

const env = process.env;
const WINDOW_ROWS = Number(env.ROWS ?? 200_000);
const WRITER_ROWS = Number(env.WRITER_ROWS ?? 100_000);
const WINDOW = Date.UTC(2025, 10, 27, 10) / 1000;

interface Measurement {
  name: string;
  rows: number;
  ms: number;
  rows_per_s: number;
  /** CPU time of this process (all DuckDB threads included; not the ClickHouse server's). */
  cpu_ms: number;
  /** Rows per CPU-second: steadier than wall time on a shared machine. */
  rows_per_cpu_s: number;
  bytes: number | null;
  note?: string;
}

interface Timing {
  ms: number;
  cpuMs: number;
}

function measured(name: string, rows: number, t: Timing, bytes: number | null): Measurement {
  return {
    name,
    rows,
    ms: Math.round(t.ms),
    rows_per_s: Math.round((rows / t.ms) * 1000),
    cpu_ms: Math.round(t.cpuMs),
    rows_per_cpu_s: Math.round((rows / t.cpuMs) * 1000),
    bytes,
  };
}

function plus(a: Timing, b: Timing): Timing {
  return { ms: a.ms + b.ms, cpuMs: a.cpuMs + b.cpuMs };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, Timing]> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return [value, { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000 }];
}

async function compareWriters(dir: string): Promise<Measurement[]> {
  const rows = benchRows(WRITER_ROWS);
  const out: Measurement[] = [];
  const writers = [
    ['parquetjs-lite (snappy)', writeWithParquetjsLite],
    ['hyparquet-writer (snappy)', writeWithHyparquet],
    ['duckdb COPY (zstd)', writeWithDuckDb],
  ] as const;
  for (const [name, write] of writers) {
    const path = join(dir, `${name.split(' ')[0]}.parquet`);
    const [written, timing] = await timed(() => write(rows, path));
    if (written === 'not installed') out.push({ ...measured(name, 0, timing, null), note: written });
    else out.push(measured(name, rows.length, timing, (await stat(path)).size));
  }
  return out;
}

const GENERATE = (rows: number) => sql`INSERT INTO spend_logs (request_id, response_id, start_time, start_time_ms,
  end_time_ms, duration_ms, ttft_ms, call_type, status, error_type, key_hash, key_alias, user_id, team_id, customer_id,
  model, upstream_model, provider, prompt_tokens, completion_tokens, total_tokens, cost_nano, cost_status, tags,
  metadata_keys, metadata_values, stream, source, inserted_at)
  SELECT concat('0193', hex(sipHash64(number)), hex(number)), if(number % 5 = 0, '', concat('chatcmpl-', toString(number))),
    toDateTime(${WINDOW} + intDiv(number * 3600, ${rows})), (${WINDOW} + intDiv(number * 3600, ${rows})) * 1000 + number % 1000,
    (${WINDOW} + intDiv(number * 3600, ${rows})) * 1000 + 900, 800 + number % 500, if(number % 3 = 0, 120, NULL), 'chat',
    if(number % 50 = 0, 429, 200), if(number % 50 = 0, 'rate_limited', ''), concat('kh', toString(number % 100)),
    concat('key-', toString(number % 100)), concat('user-', toString(number % 1000)), concat('team-', toString(number % 10)),
    if(number % 2 = 1, concat('cust-', toString(number % 300)), ''),
    ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'o3'][number % 4 + 1], 'gpt-4o-2024-08-06', 'openai',
    100 + number % 1000, 50 + number % 300, 150 + number % 1300, 1010000 + number * 7, 'priced',
    if(number % 3 = 0, emptyArrayString(), ['env:prod', concat('feature:', toString(number % 7))]),
    if(number % 4 = 0, emptyArrayString(), ['trace']), if(number % 4 = 0, emptyArrayString(), [concat('t', toString(number))]),
    number % 2, 'proxy', now()
  FROM numbers(${rows})`;

async function exportPath(dir: string): Promise<Measurement[]> {
  const config = loadConfig({
    configPath: null,
    env: { ...env, CLICKHOUSE_DATABASE: 'bench_archive' },
    fallbackMasterKey: 'sk-bench-archive',
  });
  await ensureDatabase(config.clickhouse);
  const warehouse = createWarehouse(config.clickhouse);
  const redis = createRedis({ ...config.redis, keyPrefix: 'bench-archive:' });
  try {
    await migrate(warehouse, redis);
    await warehouse.exec(sql`TRUNCATE TABLE spend_logs`);
    await warehouse.exec(GENERATE(WINDOW_ROWS));
    const input = join(dir, 'rows.jsonl');
    const [, read] = await timed(() => streamWindowRows(warehouse, WINDOW, 3600, input));
    const inputBytes = (await stat(input)).size;
    const [parquet, parquetOnly] = await timed(() => writeWindowFiles(input, dir, ['parquet'], 'zstd'));
    const [both, bothFormats] = await timed(() => writeWindowFiles(input, dir, ['parquet', 'jsonl'], 'zstd'));
    const bytes = (b: Buffer | undefined) => b?.length ?? 0;
    return [
      measured('clickhouse → JSONEachRow file', WINDOW_ROWS, read, inputBytes),
      measured('duckdb load + parquet', parquet.rows, parquetOnly, bytes(parquet.bodies.parquet)),
      measured('duckdb load + parquet + jsonl.gz', both.rows, bothFormats, bytes(both.bodies.jsonl)),
      measured('end to end: clickhouse → parquet', WINDOW_ROWS, plus(read, parquetOnly), bytes(parquet.bodies.parquet)),
      measured('end to end: clickhouse → parquet + jsonl.gz', WINDOW_ROWS, plus(read, bothFormats), null),
    ];
  } finally {
    await warehouse.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent('bench_archive')}`);
    await warehouse.client.close();
    redis.disconnect();
  }
}

function table(rows: Measurement[]): string {
  const header = ['name', 'rows', 'ms', 'rows/s', 'cpu ms', 'rows/cpu-s', 'bytes'];
  const body = rows.map((r) => [
    r.name,
    String(r.rows),
    String(r.ms),
    String(r.rows_per_s),
    String(r.cpu_ms),
    String(r.rows_per_cpu_s),
    r.note ?? String(r.bytes ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...body.map(line)].join('\n');
}

const dir = await mkdtemp(join(tmpdir(), 'bench-archive-'));
try {
  const writers = await compareWriters(dir);
  const exporting = await exportPath(dir);
  // The machine is shared: the load average says how much the wall-clock numbers can be trusted.
  const result = {
    bench: 'archive',
    load_average: loadavg().map((l) => Math.round(l * 10) / 10),
    writer_rows: WRITER_ROWS,
    window_rows: WINDOW_ROWS,
    writers,
    export: exporting,
  };
  await writeFile(join(dir, 'result.json'), JSON.stringify(result));
  console.log(JSON.stringify(result));
  console.log(`\nParquet writers (${WRITER_ROWS} rows in memory → file)\n${table(writers)}`);
  console.log(`\nExport path (one window of ${WINDOW_ROWS} rows)\n${table(exporting)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
