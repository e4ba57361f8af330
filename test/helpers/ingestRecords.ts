// SpendRecord fixtures and ClickHouse waits for the ingest tests and bench.
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { sql } from '../../src/clickhouse/sql.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';
import { ADDED_FIELD_DEFAULTS, type SpendRecord } from '../../src/spendRecord.js';

const TEAMS = ['team-a', 'team-b', 'team-c'];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'];
const TAG_SETS = [[], ['prod'], ['batch', 'prod'], ['exp']];

/** A deterministic, varied record: record `i` of a run named `run`. */
export function spendRecord(run: string, i: number, overrides: Partial<SpendRecord> = {}): SpendRecord {
  const start = new Date(overrides.start_time ?? Date.now() - (i % 7) * 1000);
  return {
    request_id: `${run}-${i}`,
    response_id: `chatcmpl-${i}`,
    start_time: start.toISOString(),
    end_time: new Date(start.getTime() + 100 + (i % 50)).toISOString(),
    duration_ms: 100 + (i % 50),
    ttft_ms: null,
    call_type: 'chat',
    status: i % 20 === 0 ? 429 : 200,
    error_type: i % 20 === 0 ? 'rate_limited' : null,
    key_hash: `key-${i % 11}`,
    key_alias: null,
    user_id: `user-${i % 13}`,
    team_id: TEAMS[i % TEAMS.length] ?? null,
    customer_id: i % 5 === 0 ? `cust-${i % 3}` : null,
    model: MODELS[i % MODELS.length] ?? 'gpt-4o',
    upstream_model: MODELS[i % MODELS.length] ?? 'gpt-4o',
    provider: 'openai',
    prompt_tokens: 10 + (i % 100),
    completion_tokens: 5 + (i % 30),
    cached_tokens: i % 4,
    cache_write_tokens: 0,
    reasoning_tokens: i % 3,
    total_tokens: 15 + (i % 100) + (i % 30),
    cost_nano: 1000 + i,
    ...ADDED_FIELD_DEFAULTS,
    list_cost_nano: 1000 + i,
    cost_status: i % 17 === 0 ? 'unpriced' : 'priced',
    usage_estimated: false,
    tags: TAG_SETS[i % TAG_SETS.length] ?? [],
    metadata: { run },
    stream: false,
    source: 'proxy',
    ...overrides,
  };
}

const totalsRow = z.object({ n: z.coerce.number(), distinct_ids: z.coerce.number(), cost: z.coerce.number() });

export async function spendTotals(warehouse: Warehouse, prefix = '') {
  const rows = await warehouse.rows(
    sql`SELECT count() AS n, uniqExact(request_id) AS distinct_ids, sum(cost_nano) AS cost FROM spend_logs
        WHERE substring(request_id, 1, ${prefix.length}) = ${prefix}`,
    totalsRow,
  );
  return rows[0] ?? { n: 0, distinct_ids: 0, cost: 0 };
}

/** Polls until spend_logs holds `count` rows with the prefix (or the timeout passes); returns the totals. */
export async function waitForRows(warehouse: Warehouse, count: number, prefix = '', timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const totals = await spendTotals(warehouse, prefix);
    if (totals.n >= count || Date.now() > deadline) return totals;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Expected sum of cost_nano for records 0..n-1 of spendRecord(). */
export function expectedCost(n: number): number {
  return n * 1000 + (n * (n - 1)) / 2;
}

/**
 * Waits until the spend queue is drained: no batch waiting, delayed or in hand. A row is visible in
 * spend_logs a moment before its insert (materialized views included) returns, so tests that compare raw
 * with rollups wait for this rather than for the raw count.
 */
export async function waitForQueueIdle(queue: Queue, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('spend queue did not drain in time');
}
