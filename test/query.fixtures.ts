// Test data for the query API tests: rows written straight into spend_logs (the rollup's materialized
// view, when installed, fills the hourly rollup from the same insert).

import { hashKey } from '../src/auth/principal.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';

export interface CallRow {
  request_id: string;
  start_ms: number;
  duration_ms?: number;
  call_type?: string;
  status?: number;
  key?: string;
  key_alias?: string;
  user?: string;
  team?: string;
  customer?: string;
  model?: string;
  provider?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  cost_nano: number;
  cost_status?: string;
  tags?: string[];
}

/** The stored row for a call (nullable ids as ''); `key` is the secret, stored hashed like the proxy does. */
export function spendLogRow(c: CallRow): Record<string, unknown> {
  const prompt = c.prompt_tokens ?? 10;
  const completion = c.completion_tokens ?? 5;
  return {
    request_id: c.request_id,
    response_id: `resp-${c.request_id}`,
    start_time: Math.floor(c.start_ms / 1000),
    start_time_ms: c.start_ms,
    end_time_ms: c.start_ms + (c.duration_ms ?? 100),
    duration_ms: c.duration_ms ?? 100,
    ttft_ms: null,
    call_type: c.call_type ?? 'chat',
    status: c.status ?? 200,
    error_type: (c.status ?? 200) >= 400 ? 'upstream_error' : '',
    key_hash: c.key ? hashKey(c.key) : '',
    key_alias: c.key_alias ?? '',
    user_id: c.user ?? '',
    team_id: c.team ?? '',
    customer_id: c.customer ?? '',
    model: c.model ?? 'gpt-4o-mini',
    upstream_model: c.model ?? 'gpt-4o-mini',
    provider: c.provider ?? 'openai',
    prompt_tokens: prompt,
    completion_tokens: completion,
    cached_tokens: c.cached_tokens ?? 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: prompt + completion,
    cost_nano: c.cost_nano,
    cost_status: c.cost_status ?? 'priced',
    usage_estimated: 0,
    tags: [...new Set(c.tags ?? [])].sort(),
    metadata_keys: [],
    metadata_values: [],
    stream: 0,
    source: 'proxy',
    inserted_at: Math.floor(c.start_ms / 1000),
  };
}

export async function insertCalls(warehouse: Warehouse, calls: readonly CallRow[]): Promise<void> {
  await warehouse.insert('spend_logs', calls.map(spendLogRow));
}

/** A fixed hour-aligned base time, well in the past so relative windows never include it by accident. */
export const BASE_MS = Date.UTC(2026, 9, 5, 0, 0, 0);
export const HOUR_MS = 3_600_000;
