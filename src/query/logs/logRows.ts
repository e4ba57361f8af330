// One call as the logs endpoints return it: LiteLLM's LiteLLM_SpendLogs field names (so scripts written
// against /spend/logs keep working) plus Spendhouse's exact fields (cost_nano, cost_usd, status_code).
import { jsonNestsDeeperThan } from '../../http/jsonBody.js';
import { MAX_JSON_DEPTH } from '../../http/jsonLimits.js';
import { decodeUnitPrices, type StoredRow, storedRowSchema } from '../../spendLogColumns.js';
import { nanoToUsd } from '../../spendRecord.js';

/** The stored columns of a call, as the logs endpoints select them (src/spendLogColumns.ts). */
export const LOG_COLUMNS = Object.keys(storedRowSchema.shape).join(', ');
export const logRowSchema = storedRowSchema;
export type LogRow = StoredRow;

const orNull = (value: string) => (value === '' ? null : value);
const iso = (ms: number) => new Date(ms).toISOString();

/** LiteLLM's `status` column: "success" or "failure". */
export const outcome = (status: number) => (status < 400 ? 'success' : 'failure');

export function toLogEntry(row: LogRow, payload?: { messages: string; response: string } | null) {
  const costNano = BigInt(row.cost_nano);
  const metadata: Record<string, string | number | null> = Object.fromEntries(
    row.metadata_keys.map((k, i) => [k, row.metadata_values[i] ?? '']),
  );
  Object.assign(metadata, {
    user_api_key: orNull(row.key_hash),
    user_api_key_alias: orNull(row.key_alias),
    user_api_key_team_id: orNull(row.team_id),
    user_api_key_user_id: orNull(row.user_id),
    status: outcome(row.status),
    error_type: orNull(row.error_type),
    cost_status: row.cost_status,
  });
  return {
    request_id: row.request_id,
    call_type: row.call_type,
    api_key: row.key_hash,
    spend: Number(nanoToUsd(costNano)),
    total_tokens: row.total_tokens,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    startTime: iso(row.start_time_ms),
    endTime: iso(row.end_time_ms),
    completionStartTime: row.ttft_ms === null ? null : iso(row.start_time_ms + row.ttft_ms),
    request_duration_ms: row.duration_ms,
    model: row.model,
    model_id: '',
    model_group: row.model,
    custom_llm_provider: row.provider,
    api_base: '',
    user: row.user_id,
    metadata,
    cache_hit: row.cached_tokens > 0 ? 'True' : 'False',
    cache_key: '',
    request_tags: row.tags,
    team_id: orNull(row.team_id),
    organization_id: null,
    end_user: row.customer_id,
    requester_ip_address: null,
    messages: payload ? parseStored(payload.messages) : {},
    response: payload ? parseStored(payload.response) : {},
    session_id: null,
    status: outcome(row.status),
    // Spendhouse's exact fields beside LiteLLM's float `spend`.
    cost_nano: costNano <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(costNano) : costNano.toString(),
    cost_usd: nanoToUsd(costNano),
    cost_status: row.cost_status,
    status_code: row.status,
    response_id: orNull(row.response_id),
    key_alias: orNull(row.key_alias),
    customer_id: orNull(row.customer_id),
    upstream_model: row.upstream_model,
    cached_tokens: row.cached_tokens,
    cache_write_tokens: row.cache_write_tokens,
    cache_write_1h_tokens: row.cache_write_1h_tokens,
    reasoning_tokens: row.reasoning_tokens,
    audio_input_tokens: row.audio_input_tokens,
    image_input_tokens: row.image_input_tokens,
    audio_output_tokens: row.audio_output_tokens,
    image_output_tokens: row.image_output_tokens,
    web_search_requests: row.web_search_requests,
    service_tier: row.service_tier,
    // Price provenance (docs/spend-record.md): '' for calls recorded before it existed.
    list_cost_nano: row.list_cost_nano,
    list_cost_usd: nanoToUsd(row.list_cost_nano),
    provider_cost_nano: row.provider_cost_nano,
    provider_cost_usd: row.provider_cost_nano === null ? null : nanoToUsd(row.provider_cost_nano),
    price_source: row.price_source,
    price_version: row.price_version,
    unit_prices: decodeUnitPrices(row.unit_prices),
    corrects_request_id: orNull(row.corrects_request_id),
    stream: row.stream === 1,
    source: row.source,
  };
}
export type LogEntry = ReturnType<typeof toLogEntry>;

/**
 * Stored prompts/responses are JSON text when they came from the proxy; anything else stays a string — as
 * does JSON nested deeper than request bodies may be (an ingested string of 100,000 `[` parsed here would
 * overflow the stack when the answer is serialised: a 500 on every read of that call).
 */
function parseStored(text: string): unknown {
  if (text === '') return {};
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
