// Ingest API input → SpendRecord candidates. Two shapes are accepted per record:
// - Spendhouse's own SpendRecord fields (docs/ingest.md), most optional with defaults;
// - LiteLLM's StandardLoggingPayload (what its S3 / generic-API loggers write) and LiteLLM_SpendLogs rows
//   (`request_id`, `spend`, `startTime` as ISO, `api_key` = hashed key, `user`, `team_id`, `end_user`, …).
// A record is read as LiteLLM when it has no `start_time` but has `startTime`. The result is validated
// with the worker's own schema, so what the API accepts is exactly what the worker will insert.
import { ADDED_FIELD_DEFAULTS, normalizeTags, usdToNano } from '../spendRecord.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const int = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v)
    ? Math.round(v)
    : typeof v === 'string' && /^\d+$/.test(v)
      ? Number(v)
      : undefined;

/** ISO string, epoch seconds (LiteLLM floats) or epoch ms → ISO string with ms; anything else is kept for zod to reject. */
function isoTime(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const ms = Math.round(value > 1e11 ? value : value * 1000);
    // Past ±8.64e15 ms a Date is invalid (toISOString throws): keep the number for zod to refuse by name.
    return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : value;
  }
  if (typeof value === 'string') {
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : value;
  }
  return value;
}

/** Metadata is string → string; other JSON values are kept as their JSON text. */
function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function tagList(value: unknown): unknown {
  if (typeof value === 'string') {
    try {
      return tagList(JSON.parse(value));
    } catch {
      return [value];
    }
  }
  return Array.isArray(value) ? normalizeTags(value.filter((t): t is string => typeof t === 'string')) : value;
}

function textOrJson(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** LiteLLM's async call types (`acompletion`) name the same call as the sync ones. */
function litellmCallType(value: unknown): string {
  const raw = str(value) ?? 'completion';
  const base =
    /^a(completion|text_completion|embedding|image_generation|transcription|speech|rerank|responses|moderation)$/.test(
      raw,
    )
      ? raw.slice(1)
      : raw;
  const names: Record<string, string> = {
    completion: 'chat',
    text_completion: 'completion',
    anthropic_messages: 'messages',
  };
  return names[base] ?? base;
}

export interface Candidate {
  /** The SpendRecord fields before validation. */
  record: Json;
  /** The caller gave no cost: price it server-side. */
  needsPricing: boolean;
}

function cost(value: unknown): { cost_nano: unknown; provided: boolean } {
  if (value === undefined || value === null) return { cost_nano: 0, provided: false };
  try {
    return { cost_nano: usdToNano(value as string | number), provided: true };
  } catch {
    return { cost_nano: value, provided: true };
  }
}

function fromNative(input: Json): Candidate {
  const start = isoTime(input.start_time);
  const end = input.end_time === undefined ? start : isoTime(input.end_time);
  const startMs = typeof start === 'string' ? Date.parse(start) : Number.NaN;
  const endMs = typeof end === 'string' ? Date.parse(end) : Number.NaN;
  const given = input.cost_nano !== undefined ? { cost_nano: input.cost_nano, provided: true } : cost(input.cost_usd);
  const prompt = int(input.prompt_tokens) ?? 0;
  const completion = int(input.completion_tokens) ?? 0;
  const record: Json = {
    response_id: null,
    duration_ms: Number.isFinite(endMs - startMs) ? Math.max(0, endMs - startMs) : 0,
    ttft_ms: null,
    call_type: 'chat',
    status: 200,
    error_type: null,
    key_hash: null,
    key_alias: null,
    user_id: null,
    team_id: null,
    customer_id: null,
    provider: '',
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    usage_estimated: false,
    metadata: {},
    stream: false,
    ...ADDED_FIELD_DEFAULTS,
    ...input,
    start_time: start,
    end_time: end,
    upstream_model: input.upstream_model ?? input.model,
    prompt_tokens: input.prompt_tokens ?? prompt,
    completion_tokens: input.completion_tokens ?? completion,
    total_tokens: input.total_tokens ?? prompt + completion,
    tags: tagList(input.tags ?? []),
    cost_nano: given.cost_nano,
    cost_status: given.provided ? (input.cost_status ?? 'provided') : 'unpriced',
    price_source: input.price_source ?? (given.provided ? 'caller' : 'none'),
    source: 'ingest',
  };
  delete record.cost_usd;
  return { record, needsPricing: !given.provided };
}

function fromLitellm(input: Json): Candidate {
  const meta = isObject(input.metadata) ? input.metadata : {};
  const hidden = isObject(input.hidden_params) ? input.hidden_params : {};
  const usage = isObject(meta.usage_object)
    ? meta.usage_object
    : isObject(hidden.usage_object)
      ? hidden.usage_object
      : {};
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  const start = isoTime(input.startTime);
  const end = input.endTime === undefined ? start : isoTime(input.endTime);
  const firstToken = input.completionStartTime === undefined ? null : isoTime(input.completionStartTime);
  const ms = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : Number.NaN);
  const duration = ms(end) - ms(start);
  const ttft = ms(firstToken) - ms(start);
  const stream = input.stream === true;
  const errorInfo = isObject(input.error_information) ? input.error_information : {};
  const failed = input.status === 'failure';
  const given = cost(input.spend ?? input.response_cost);
  const prompt = int(input.prompt_tokens) ?? 0;
  const completion = int(input.completion_tokens) ?? 0;
  const model = str(input.model_group) ?? str(input.model) ?? '';
  const response = isObject(input.response) ? input.response : {};
  const metadata = { ...stringMap(meta.spend_logs_metadata), ...stringMap(meta.requester_metadata) };
  const record: Json = {
    request_id: input.request_id ?? input.id,
    response_id: str(response.id),
    start_time: start,
    end_time: end,
    duration_ms: Number.isFinite(duration) ? Math.max(0, duration) : 0,
    ttft_ms: stream && Number.isFinite(ttft) && ttft >= 0 ? ttft : null,
    call_type: litellmCallType(input.call_type),
    status: failed ? (int(errorInfo.error_code) ?? 500) : 200,
    error_type: failed ? (str(errorInfo.error_class) ?? 'error') : null,
    key_hash: str(input.api_key) ?? str(meta.user_api_key_hash) ?? str(meta.user_api_key),
    key_alias: str(meta.user_api_key_alias),
    user_id: str(input.user) ?? str(meta.user_api_key_user_id),
    team_id: str(input.team_id) ?? str(meta.user_api_key_team_id),
    customer_id: str(input.end_user) ?? str(meta.user_api_key_end_user_id),
    model,
    upstream_model: str(input.model) ?? model,
    provider: str(input.custom_llm_provider) ?? '',
    prompt_tokens: prompt,
    completion_tokens: completion,
    cached_tokens: int(promptDetails.cached_tokens) ?? 0,
    cache_write_tokens: int(usage.cache_creation_input_tokens) ?? 0,
    reasoning_tokens: int(completionDetails.reasoning_tokens) ?? 0,
    total_tokens: int(input.total_tokens) ?? prompt + completion,
    cost_nano: given.cost_nano,
    ...ADDED_FIELD_DEFAULTS,
    price_source: given.provided ? 'caller' : 'none',
    cost_status: given.provided ? 'provided' : 'unpriced',
    usage_estimated: false,
    tags: tagList(input.request_tags ?? []),
    metadata,
    stream,
    source: 'ingest',
    messages: textOrJson(input.messages),
    response: textOrJson(input.response),
  };
  return { record, needsPricing: !given.provided };
}

export function toCandidate(input: unknown): Candidate | null {
  if (!isObject(input)) return null;
  const litellm = input.start_time === undefined && input.startTime !== undefined;
  return litellm ? fromLitellm(input) : fromNative(input);
}
