// Shared pieces of the archive tests: records with awkward strings, a real S3-protocol server (s3rver on
// loopback), ClickHouse per-window totals, and DuckDB reading the archive back with hive partitioning.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { runArchiveCli } from '../src/archive/cli.js';
import { resolveArchiveSettings } from '../src/archive/settings.js';
import { duckString, openDuckDb } from '../src/archive/windowWriter.js';
import { sql } from '../src/clickhouse/sql.js';
import type { AppConfig } from '../src/config/load.js';
import { toSpendLogRow } from '../src/ingest/rows.js';
import { ADDED_FIELD_DEFAULTS, type SpendRecord } from '../src/spendRecord.js';
import { testConfig } from './helpers/testApp.js';

/** 2026-01-05T10:00:00Z: three closed hours from here on. */
export const BASE = Date.UTC(2026, 0, 5, 10) / 1000;
export const HOUR = 3600;

/** The test's yaml `archive:` section merged in; AppConfig.archive resolved from it like load.ts does. */
export function archiveConfig(fileConfig: Record<string, unknown>): AppConfig {
  const config = testConfig(fileConfig);
  return { ...config, archive: resolveArchiveSettings(config.file) };
}

export function record(i: number, startSeconds: number, overrides: Partial<SpendRecord> = {}): SpendRecord {
  const startMs = startSeconds * 1000 + (i % 1000);
  return {
    request_id: `req-${String(i).padStart(6, '0')}`,
    response_id: i % 4 === 0 ? null : `chatcmpl-${i}`,
    start_time: new Date(startMs).toISOString(),
    end_time: new Date(startMs + 250 + i).toISOString(),
    duration_ms: 250 + i,
    ttft_ms: i % 2 ? 40 : null,
    call_type: 'chat',
    status: i % 10 === 9 ? 429 : 200,
    error_type: i % 10 === 9 ? 'rate_limited' : null,
    key_hash: `kh-${i % 3}`,
    key_alias: i % 3 ? `key "${i % 3}"` : null,
    user_id: `user-${i % 5}`,
    team_id: i % 2 ? 'team-a' : null,
    customer_id: i % 7 === 0 ? 'cust\nwith newline' : null,
    model: 'gpt-4o-mini',
    upstream_model: 'gpt-4o-mini-2024-07-18',
    provider: 'openai',
    prompt_tokens: 100 + i,
    completion_tokens: 20 + i,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: 120 + 2 * i,
    cost_nano: 1_010_000 + i * 1_337,
    ...ADDED_FIELD_DEFAULTS,
    list_cost_nano: 1_010_000 + i * 1_337,
    cost_status: 'priced',
    usage_estimated: i % 6 === 0,
    tags: i % 3 ? ['env:prod', `feature:${i % 4}`, "it's \\ odd"] : [],
    metadata: i % 2 ? { trace: `t-${i}`, note: 'ünïcødé "quoted"\ttab' } : {},
    stream: i % 2 === 0,
    source: 'proxy',
    ...overrides,
  };
}

/** `perWindow` records in each of `windows` hours starting at BASE. */
export function recordsFor(windows: number, perWindow: number, firstIndex = 0): SpendRecord[] {
  const out: SpendRecord[] = [];
  for (let w = 0; w < windows; w++) {
    for (let j = 0; j < perWindow; j++) {
      const i = firstIndex + w * perWindow + j;
      out.push(record(i, BASE + w * HOUR + Math.floor((j * HOUR) / perWindow)));
    }
  }
  return out;
}

export async function insertRecords(app: FastifyInstance, records: SpendRecord[], insertedAt: number): Promise<void> {
  await app.warehouse.insert(
    'spend_logs',
    records.map((r) => ({ ...toSpendLogRow(r, insertedAt) })),
  );
}

export interface Totals {
  rows: number;
  costNano: string;
  /** SUM(cost_usd) × 1e9 as an integer string (DuckDB side only). */
  costUsdNano?: string;
}

const chTotalsRow = z.object({ w: z.coerce.number(), rows: z.coerce.number(), cost: z.string() });

export async function clickhouseTotals(app: FastifyInstance): Promise<Map<number, Totals>> {
  const rows = await app.warehouse.rows(
    sql`SELECT intDiv(toUInt32(start_time), 3600) * 3600 AS w, count() AS rows, toString(sum(cost_nano)) AS cost
        FROM spend_logs GROUP BY w ORDER BY w`,
    chTotalsRow,
  );
  return new Map(rows.map((r) => [r.w, { rows: r.rows, costNano: r.cost }]));
}

/**
 * Per-window totals as DuckDB sees every file under `root` (hive partitions dt/hour). The window is taken
 * from the partition values, so a file in the wrong folder shows up as a mismatch.
 */
export async function duckTotals(root: string, format: 'parquet' | 'jsonl'): Promise<Map<number, Totals>> {
  const work = await mkdtemp(join(tmpdir(), 'archive-read-'));
  const db = await openDuckDb(work);
  const conn = await db.connect();
  try {
    const source =
      format === 'parquet'
        ? `read_parquet(${duckString(join(root, '**', '*.parquet'))}, hive_partitioning = true)`
        : `read_json(${duckString(join(root, '**', '*.jsonl.gz'))}, hive_partitioning = true, format = 'newline_delimited', columns = {cost_nano: 'BIGINT', cost_usd: 'DECIMAL(18,9)'})`;
    const reader = await conn.runAndReadAll(
      `SELECT epoch(strptime(dt::VARCHAR || ' ' || hour::VARCHAR, '%Y-%m-%d %H'))::BIGINT AS w, count(*)::BIGINT AS n,
         sum(cost_nano)::VARCHAR AS cost, (sum(cost_usd) * 1000000000)::HUGEINT::VARCHAR AS usd
       FROM ${source} GROUP BY ALL ORDER BY w`,
    );
    return new Map(
      reader
        .getRows()
        .map((r) => [Number(r[0]), { rows: Number(r[1]), costNano: String(r[2]), costUsdNano: String(r[3]) }]),
    );
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(work, { recursive: true, force: true });
  }
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver on 127.0.0.1 (random port unless given) over `directory`, with bucket `bucket` created. */
export async function startS3rver(
  directory: string,
  bucket: string,
  port = 0,
): Promise<{ port: number; close(): Promise<void> }> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = await server.run();
  return { port: address.port, close: () => server.close() };
}

/** Runs an `archive` CLI command with this config, capturing what it prints. */
export async function runCli(config: AppConfig, args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  console.error = console.log;
  try {
    const code = await runArchiveCli(args, () => config);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
