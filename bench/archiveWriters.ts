// The Parquet writer candidates for bench/archive.ts, each writing the same rows with the archive's columns.
// parquetjs-lite and hyparquet-writer have no bundled types here, so they are loaded through small typed
// facades; hyparquet-writer is optional (install it to include it in the comparison).
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ARCHIVE_COLUMNS, aliasOf, METADATA_VALUES_ALIAS } from '../src/archive/columns.js';
import { writeWindowFiles } from '../src/archive/windowWriter.js';

export interface BenchRow {
  request_id: string;
  response_id: string | null;
  start_time: number;
  end_time: number;
  duration_ms: number;
  ttft_ms: number | null;
  call_type: string;
  status: number;
  error_type: string | null;
  key_hash: string | null;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  customer_id: string | null;
  model: string;
  upstream_model: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_nano: number;
  cost_status: string;
  usage_estimated: boolean;
  tags: string[];
  metadata: Record<string, string>;
  stream: boolean;
  source: string;
}

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'o3'];

export function benchRows(n: number): BenchRow[] {
  const base = Date.UTC(2025, 10, 27, 10);
  return Array.from({ length: n }, (_, i) => {
    const start = base + Math.floor((i * 3_600_000) / n);
    return {
      request_id: `0193${i.toString(16).padStart(28, '0')}`,
      response_id: i % 5 ? `chatcmpl-${i}` : null,
      start_time: start,
      end_time: start + 800 + (i % 500),
      duration_ms: 800 + (i % 500),
      ttft_ms: i % 3 ? null : 120,
      call_type: 'chat',
      status: i % 50 ? 200 : 429,
      error_type: i % 50 ? null : 'rate_limited',
      key_hash: `kh${i % 100}`,
      key_alias: `key-${i % 100}`,
      user_id: `user-${i % 1000}`,
      team_id: `team-${i % 10}`,
      customer_id: i % 2 ? `cust-${i % 300}` : null,
      model: MODELS[i % 4] as string,
      upstream_model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      prompt_tokens: 100 + (i % 1000),
      completion_tokens: 50 + (i % 300),
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      total_tokens: 150 + (i % 1300),
      cost_nano: 1_010_000 + i * 7,
      cost_status: 'priced',
      usage_estimated: false,
      tags: i % 3 ? ['env:prod', `feature:${i % 7}`] : [],
      metadata: (i % 4 ? { trace: `t${i}` } : {}) as Record<string, string>,
      stream: i % 2 === 0,
      source: 'proxy',
    };
  });
}

const require = createRequire(import.meta.url);

interface ParquetjsLite {
  ParquetSchema: new (fields: Record<string, { type: string; optional?: boolean; repeated?: boolean }>) => object;
  ParquetWriter: {
    openFile(
      schema: object,
      path: string,
      options: { compression: string },
    ): Promise<{ appendRow(row: object): Promise<void>; close(): Promise<void> }>;
  };
}

/** parquetjs-lite: row at a time; no DECIMAL, and `repeated` is the legacy 2-level list, not LIST. */
export async function writeWithParquetjsLite(rows: BenchRow[], path: string): Promise<'ok'> {
  const pq = require('parquetjs-lite') as ParquetjsLite;
  const fields: Record<string, { type: string; optional?: boolean; repeated?: boolean }> = {};
  for (const c of ARCHIVE_COLUMNS) {
    const type =
      c.athena === 'bigint' ? 'INT64' : c.athena === 'int' ? 'INT32' : c.athena === 'boolean' ? 'BOOLEAN' : 'UTF8';
    fields[c.name] = { type, optional: true };
  }
  Object.assign(fields, {
    start_time: { type: 'TIMESTAMP_MILLIS' },
    end_time: { type: 'TIMESTAMP_MILLIS' },
    cost_usd: { type: 'DOUBLE' },
    tags: { type: 'UTF8', repeated: true },
  });
  const writer = await pq.ParquetWriter.openFile(new pq.ParquetSchema(fields), path, { compression: 'SNAPPY' });
  for (const r of rows) {
    const row: Record<string, unknown> = { ...r, metadata: JSON.stringify(r.metadata), cost_usd: r.cost_nano / 1e9 };
    for (const [k, v] of Object.entries(row)) if (v === null) delete row[k];
    row.start_time = new Date(r.start_time);
    row.end_time = new Date(r.end_time);
    await writer.appendRow(row);
  }
  await writer.close();
  return 'ok';
}

interface HyparquetWriter {
  parquetWriteBuffer(options: {
    codec: string;
    columnData: { name: string; type: string; data: unknown[] }[];
  }): ArrayBuffer;
}

/** hyparquet-writer: columnar, pure JS (optional dependency of the benchmark only). */
export async function writeWithHyparquet(rows: BenchRow[], path: string): Promise<'ok' | 'not installed'> {
  let lib: HyparquetWriter;
  try {
    lib = (await import(['hyparquet', 'writer'].join('-'))) as HyparquetWriter;
  } catch {
    return 'not installed';
  }
  const column = (name: keyof BenchRow, type: string, map: (r: BenchRow) => unknown = (r) => r[name]) => ({
    name,
    type,
    data: rows.map(map),
  });
  const columnData = ARCHIVE_COLUMNS.filter((c) => c.name !== 'tags' && c.name !== 'cost_usd').map((c) => {
    const name = c.name as keyof BenchRow;
    if (c.athena === 'timestamp') return column(name, 'TIMESTAMP', (r) => new Date(r[name] as number));
    if (c.athena === 'bigint') return column(name, 'INT64', (r) => BigInt(r[name] as number));
    if (c.athena === 'int') return column(name, 'INT32');
    if (c.athena === 'boolean') return column(name, 'BOOLEAN');
    if (name === 'metadata') return column(name, 'JSON', (r) => JSON.stringify(r.metadata));
    return column(name, 'STRING');
  });
  await writeFile(path, Buffer.from(lib.parquetWriteBuffer({ codec: 'SNAPPY', columnData })));
  return 'ok';
}

/** DuckDB, as the archive runs it: rows as ClickHouse would send them (JSON lines) → COPY … (FORMAT PARQUET). */
export async function writeWithDuckDb(rows: BenchRow[], path: string): Promise<'ok'> {
  const input = join(dirname(path), 'duckdb-input.jsonl');
  const lines = rows.map((r) => {
    const out: Record<string, unknown> = {};
    ARCHIVE_COLUMNS.forEach((c, i) => {
      if (c.name === 'cost_usd') out[aliasOf(i)] = r.cost_nano;
      else if (c.name === 'metadata') out[aliasOf(i)] = Object.keys(r.metadata);
      else out[aliasOf(i)] = r[c.name as keyof BenchRow];
    });
    out[METADATA_VALUES_ALIAS] = Object.values(r.metadata);
    return JSON.stringify(out);
  });
  await writeFile(input, `${lines.join('\n')}\n`);
  const files = await writeWindowFiles(input, dirname(path), ['parquet'], 'zstd');
  await writeFile(path, files.bodies.parquet ?? Buffer.alloc(0));
  return 'ok';
}
