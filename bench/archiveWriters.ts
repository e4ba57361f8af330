// The Parquet writer candidates for bench/archive.ts, each writing the same rows with the archive's 31 columns
// and types (TIMESTAMP(MILLIS), DECIMAL(18,9), 3-level LIST for tags) where the writer can. parquetjs-lite has
// no bundled types, so it is loaded through a small typed facade; hyparquet-writer is a dev dependency.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { ARCHIVE_COLUMNS, archiveInputs } from '../src/archive/columns.js';
import { writeWindowFiles } from '../src/archive/windowWriter.js';
import { ADDED_FIELD_DEFAULTS } from '../src/spendRecord.js';

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
  cache_write_1h_tokens: number;
  audio_input_tokens: number;
  image_input_tokens: number;
  audio_output_tokens: number;
  image_output_tokens: number;
  web_search_requests: number;
  service_tier: string | null;
  list_cost_nano: number;
  provider_cost_nano: number | null;
  price_source: string;
  price_version: string | null;
  unit_prices: string;
  corrects_request_id: string | null;
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
      // The usage dimensions the bench's calls do not use, as a record without them holds them.
      ...ADDED_FIELD_DEFAULTS,
      service_tier: null,
      list_cost_nano: 1_010_000 + i * 7,
      price_source: 'catalog',
      price_version: 'genai-prices@bench',
      unit_prices: '{"input":"0.0000025","multiplier":"1","output":"0.00001"}',
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

type HyparquetData = (string | number | bigint | boolean | null | string[])[];

/** hyparquet-writer: columnar, pure JS, the full archive schema written out by hand (it infers no DECIMAL or LIST). */
export async function writeWithHyparquet(rows: BenchRow[], path: string): Promise<'ok'> {
  const schema: SchemaElement[] = [{ name: 'root', num_children: ARCHIVE_COLUMNS.length }];
  const columnData: { name: string; data: HyparquetData }[] = [];
  const optional = 'OPTIONAL' as const;
  for (const c of ARCHIVE_COLUMNS) {
    const name = c.name as keyof BenchRow;
    if (c.name === 'tags') {
      schema.push(
        { name: 'tags', repetition_type: optional, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      );
      columnData.push({ name: 'tags', data: rows.map((r) => r.tags) });
    } else if (c.name === 'cost_usd') {
      schema.push({
        name: c.name,
        repetition_type: optional,
        type: 'INT64',
        converted_type: 'DECIMAL',
        scale: 9,
        precision: 18,
      });
      columnData.push({ name: c.name, data: rows.map((r) => BigInt(r.cost_nano)) });
    } else if (c.athena === 'timestamp') {
      schema.push({ name: c.name, repetition_type: optional, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' });
      columnData.push({ name: c.name, data: rows.map((r) => r[name] as number) });
    } else if (c.athena === 'bigint') {
      schema.push({ name: c.name, repetition_type: optional, type: 'INT64' });
      columnData.push({ name: c.name, data: rows.map((r) => (r[name] === null ? null : BigInt(r[name] as number))) });
    } else if (c.athena === 'int' || c.athena === 'boolean') {
      schema.push({ name: c.name, repetition_type: optional, type: c.athena === 'int' ? 'INT32' : 'BOOLEAN' });
      columnData.push({ name: c.name, data: rows.map((r) => r[name] as number | boolean | null) });
    } else {
      schema.push({ name: c.name, repetition_type: optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' });
      const text = c.name === 'metadata' ? (r: BenchRow) => JSON.stringify(r.metadata) : (r: BenchRow) => r[name];
      columnData.push({ name: c.name, data: rows.map((r) => text(r) as string | null) });
    }
  }
  await writeFile(path, Buffer.from(parquetWriteBuffer({ codec: 'SNAPPY', schema, columnData })));
  return 'ok';
}

/** One value as ClickHouse's CSV carries it (see columns.ts): quoted strings, bare `\N`, list literals. */
function csvField(value: unknown): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  const text = Array.isArray(value)
    ? `[${value.map((v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`).join(',')}]`
    : String(value);
  return `"${text.replaceAll('"', '""')}"`;
}

/** DuckDB, as the archive runs it: the rows as ClickHouse would send them (CSV) → COPY … (FORMAT PARQUET). */
export async function writeWithDuckDb(rows: BenchRow[], path: string): Promise<'ok'> {
  const input = join(dirname(path), 'duckdb-input.csv');
  const lines = rows.map((r) => {
    const source: Record<string, unknown> = {
      ...r,
      metadata: Object.keys(r.metadata),
      metadata_values: Object.values(r.metadata),
    };
    return archiveInputs()
      .map((c) => csvField(source[c.name]))
      .join(',');
  });
  await writeFile(input, `${lines.join('\n')}\n`);
  const files = await writeWindowFiles(input, dirname(path), ['parquet'], 'zstd');
  await writeFile(path, files.bodies.parquet ?? Buffer.alloc(0));
  return 'ok';
}
