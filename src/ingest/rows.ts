// SpendRecord → ClickHouse rows. The table's types are narrower than JSON numbers (DateTime is 1970–2105,
// UInt32 durations) and 18.16 silently wraps out-of-range values on JSONEachRow inserts, so every row is
// checked here; a record that does not fit is poison (dead-letter queue), never a wrapped number.
import { normalizeTags, type SpendRecord, spendRecordSchema } from '../spendRecord.js';

const MAX_DATETIME_MS = Date.UTC(2105, 11, 31);
const MAX_UINT32 = 4_294_967_295;

/** What the worker accepts from a job: the SpendRecord contract plus the table's own limits. */
export const insertableRecordSchema = spendRecordSchema.superRefine((record, ctx) => {
  for (const field of ['start_time', 'end_time'] as const) {
    const ms = Date.parse(record[field]);
    // An unparseable time is already reported by the ISO check.
    if (Number.isFinite(ms) && !(ms >= 0 && ms <= MAX_DATETIME_MS)) {
      ctx.addIssue({ code: 'custom', path: [field], message: 'outside the storable range 1970-01-01 … 2105-12-31' });
    }
  }
  if (record.duration_ms > MAX_UINT32) ctx.addIssue({ code: 'custom', path: ['duration_ms'], message: 'too large' });
  if (record.ttft_ms !== null && record.ttft_ms > MAX_UINT32) {
    ctx.addIssue({ code: 'custom', path: ['ttft_ms'], message: 'too large' });
  }
});

/**
 * The spend_logs row as sent with JSONEachRow (columns of clickhouse/001_spend_logs.sql). Built only from a
 * record that passed insertableRecordSchema, so it is not validated a second time on the hot path.
 */
export type SpendLogRow = {
  request_id: string;
  response_id: string;
  start_time: number;
  start_time_ms: number;
  end_time_ms: number;
  duration_ms: number;
  ttft_ms: number | null;
  call_type: string;
  status: number;
  error_type: string;
  key_hash: string;
  key_alias: string;
  user_id: string;
  team_id: string;
  customer_id: string;
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
  usage_estimated: number;
  tags: string[];
  metadata_keys: string[];
  metadata_values: string[];
  stream: number;
  source: string;
  inserted_at: number;
};

/** Prompts/responses, only when present on the record (store_prompts_in_spend_logs). */
export interface SpendPayloadRow {
  request_id: string;
  start_time: number;
  messages: string;
  response: string;
  inserted_at: number;
}

export function toSpendLogRow(record: SpendRecord, insertedAtSec: number): SpendLogRow {
  const startMs = Date.parse(record.start_time);
  const metadata = Object.entries(record.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    request_id: record.request_id,
    response_id: record.response_id ?? '',
    start_time: Math.floor(startMs / 1000),
    start_time_ms: startMs,
    end_time_ms: Date.parse(record.end_time),
    duration_ms: record.duration_ms,
    ttft_ms: record.ttft_ms,
    call_type: record.call_type,
    status: record.status,
    error_type: record.error_type ?? '',
    key_hash: record.key_hash ?? '',
    key_alias: record.key_alias ?? '',
    user_id: record.user_id ?? '',
    team_id: record.team_id ?? '',
    customer_id: record.customer_id ?? '',
    model: record.model,
    upstream_model: record.upstream_model,
    provider: record.provider,
    prompt_tokens: record.prompt_tokens,
    completion_tokens: record.completion_tokens,
    cached_tokens: record.cached_tokens,
    cache_write_tokens: record.cache_write_tokens,
    reasoning_tokens: record.reasoning_tokens,
    total_tokens: record.total_tokens,
    cost_nano: record.cost_nano,
    cost_status: record.cost_status,
    usage_estimated: record.usage_estimated ? 1 : 0,
    // Rollups key on the exact tag set, so it must be one canonical value however the caller sent it.
    tags: normalizeTags(record.tags),
    metadata_keys: metadata.map(([k]) => k),
    metadata_values: metadata.map(([, v]) => v),
    stream: record.stream ? 1 : 0,
    source: record.source,
    inserted_at: insertedAtSec,
  };
}

export function toPayloadRow(record: SpendRecord, insertedAtSec: number): SpendPayloadRow | null {
  const messages = record.messages ?? null;
  const response = record.response ?? null;
  if (messages === null && response === null) return null;
  return {
    request_id: record.request_id,
    start_time: Math.floor(Date.parse(record.start_time) / 1000),
    messages: messages ?? '',
    response: response ?? '',
    inserted_at: insertedAtSec,
  };
}
