// The SpendRecord contract: one immutable record per LLM call, keyed by request_id. The same field names
// are used by the proxy, the ingest API, the query API and the archive files (docs/spend-record.md).
// Money is integer nano-USD (`cost_nano`); `cost_usd` is derived at the edges.
import { z } from 'zod';

export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 200;
export const MAX_METADATA_BYTES = 16 * 1024;

export const costStatusSchema = z.enum(['priced', 'custom', 'provided', 'unpriced']);
export type CostStatus = z.infer<typeof costStatusSchema>;

const tokenCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const optionalId = z.string().max(256).nullable();
/** Signed nano-USD: negative only on a correction record (checked by spendRecordSchema). */
const nanoAmount = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** Where the price of a record came from (docs/spend-record.md, docs/pricing.md). */
export const priceSourceSchema = z.enum(['catalog', 'config', 'provider', 'caller', 'none']);
export type PriceSource = z.infer<typeof priceSourceSchema>;

export const recordSourceSchema = z.enum(['proxy', 'ingest', 'batch', 'correction']);
export type RecordSource = z.infer<typeof recordSourceSchema>;

/** The usage dimensions a unit price may be given for, plus the deployment's `multiplier`. */
export const UNIT_PRICE_KEYS = [
  'input',
  'cache_read',
  'cache_write_5m',
  'cache_write_1h',
  'output',
  'reasoning',
  'audio_input',
  'audio_output',
  'image_input',
  'image_output',
  'request',
  'web_search',
  'multiplier',
] as const;
export type UnitPriceKey = (typeof UNIT_PRICE_KEYS)[number];
/** An exact non-negative decimal (USD per unit, or the multiplier): no exponent, no float rounding. */
const decimalString = z
  .string()
  .max(64)
  .regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal string such as "0.0000025"');
export const unitPricesSchema = z.partialRecord(z.enum(UNIT_PRICE_KEYS), decimalString);
export type UnitPrices = z.infer<typeof unitPricesSchema>;

const spendRecordFields = z.object({
  request_id: z.string().min(1).max(128),
  response_id: z.string().max(256).nullable(),
  start_time: z.iso.datetime({ offset: true }),
  end_time: z.iso.datetime({ offset: true }),
  duration_ms: z.number().int().nonnegative(),
  ttft_ms: z.number().int().nonnegative().nullable(),
  call_type: z.string().min(1).max(64),
  status: z.number().int().min(100).max(599),
  error_type: z.string().max(128).nullable(),
  key_hash: optionalId,
  key_alias: optionalId,
  user_id: optionalId,
  team_id: optionalId,
  customer_id: optionalId,
  model: z.string().max(256),
  upstream_model: z.string().max(256),
  provider: z.string().max(64),
  prompt_tokens: tokenCount,
  completion_tokens: tokenCount,
  cached_tokens: tokenCount,
  cache_write_tokens: tokenCount,
  reasoning_tokens: tokenCount,
  total_tokens: tokenCount,
  /** The part of cache_write_tokens written with a 1-hour TTL (the rest are 5-minute writes). */
  cache_write_1h_tokens: tokenCount.default(0),
  /** Subsets of prompt_tokens. */
  audio_input_tokens: tokenCount.default(0),
  image_input_tokens: tokenCount.default(0),
  /** Subsets of completion_tokens. */
  audio_output_tokens: tokenCount.default(0),
  image_output_tokens: tokenCount.default(0),
  web_search_requests: tokenCount.default(0),
  /** The tier the provider says it served ('' when unknown). */
  service_tier: z.string().max(32).default(''),
  cost_nano: nanoAmount,
  /** The cost at list prices, before the deployment's multiplier (the ingest API defaults it to cost_nano). */
  list_cost_nano: nanoAmount,
  /** The cost the provider itself reported (OpenRouter `usage.cost`), null when none. */
  provider_cost_nano: nanoAmount.nullable().default(null),
  price_source: priceSourceSchema.default('none'),
  /** Which catalog / price-book entry priced the record ('' when none). */
  price_version: z.string().max(128).default(''),
  unit_prices: unitPricesSchema.default({}),
  /** Set only on correction records: the request_id they correct. */
  corrects_request_id: z.string().min(1).max(128).nullable().default(null),
  cost_status: costStatusSchema,
  usage_estimated: z.boolean(),
  tags: z.array(z.string().min(1).max(MAX_TAG_LENGTH)).max(MAX_TAGS),
  metadata: z.record(z.string(), z.string()),
  stream: z.boolean(),
  source: recordSourceSchema,
  /** Only present when `store_prompts_in_spend_logs` is on; stored in its own table. */
  messages: z.string().nullable().optional(),
  response: z.string().nullable().optional(),
});

/** The fields issue 19 added, as a record that predates them holds them (and the ingest API's defaults). */
export const ADDED_FIELD_DEFAULTS = {
  cache_write_1h_tokens: 0,
  audio_input_tokens: 0,
  image_input_tokens: 0,
  audio_output_tokens: 0,
  image_output_tokens: 0,
  web_search_requests: 0,
  service_tier: '',
  provider_cost_nano: null,
  price_source: 'none',
  price_version: '',
  unit_prices: {},
  corrects_request_id: null,
} as const satisfies Partial<SpendRecord>;

/** A record without `list_cost_nano` (sent without one, or written before it existed) was billed at list. */
function withListCost(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'list_cost_nano' in value) return value;
  return 'cost_nano' in value ? { ...value, list_cost_nano: value.cost_nano } : value;
}

/**
 * The SpendRecord contract: the fields above plus the rules between them. Only a correction record (a
 * signed delta against an earlier record) may carry a negative cost, and it names the record it corrects;
 * no other record names one. `list_cost_nano` defaults to `cost_nano`, the other added fields to
 * ADDED_FIELD_DEFAULTS.
 */
export const spendRecordSchema = z.preprocess(withListCost, spendRecordFields).superRefine((record, ctx) => {
  const correction = record.source === 'correction';
  if (!correction) {
    for (const field of ['cost_nano', 'list_cost_nano'] as const) {
      if (record[field] < 0)
        ctx.addIssue({ code: 'custom', path: [field], message: 'negative only when source is "correction"' });
    }
    if (record.corrects_request_id !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['corrects_request_id'],
        message: 'only allowed when source is "correction"',
      });
  } else if (record.corrects_request_id === null) {
    ctx.addIssue({ code: 'custom', path: ['corrects_request_id'], message: 'required when source is "correction"' });
  }
});

export type SpendRecord = z.infer<typeof spendRecordFields>;

/** Tags as stored everywhere: de-duplicated and sorted, so a tag set is one exact value. */
export function normalizeTags(tags: Iterable<string>): string[] {
  return [...new Set(tags)].sort();
}

/**
 * Characters a stored name or id never holds: lone UTF-16 surrogates (ClickHouse refuses `\ud800` in JSON
 * with Code 25, and no UTF-8 can carry one), C0/C1 control characters and DEL (NUL truncates in C tools,
 * ESC drives terminals), and the bidi embedding/override/isolate controls that make an id display as
 * another (U+202A–U+202E, U+2066–U+2069). With the `u` flag a class range of surrogates matches only lone
 * ones: a well-formed pair is one code point outside it.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;
/** Free text (metadata values, prompts, responses) keeps tab, newline and CR, and bidi marks (real RTL text). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff]/u;
const REPLACEMENT = '\uFFFD';

const ALL_UNSAFE_IN_NAME = new RegExp(UNSAFE_IN_NAME.source, 'gu');
const ALL_UNSAFE_IN_TEXT = new RegExp(UNSAFE_IN_TEXT.source, 'gu');

/** A name or id as stored: every unsafe character (see UNSAFE_IN_NAME) replaced by U+FFFD, length kept. */
export function storableName(value: string): string {
  // The test is the hot path (almost every value is clean); only a dirty value pays for the replace.
  return UNSAFE_IN_NAME.test(value) ? value.replace(ALL_UNSAFE_IN_NAME, REPLACEMENT) : value;
}

/** Free text as stored: lone surrogates and control characters but tab/newline/CR replaced by U+FFFD. */
export function storableText(value: string): string {
  return UNSAFE_IN_TEXT.test(value) ? value.replace(ALL_UNSAFE_IN_TEXT, REPLACEMENT) : value;
}

const NAME_FIELDS = [
  'request_id',
  'response_id',
  'call_type',
  'error_type',
  'key_hash',
  'key_alias',
  'user_id',
  'team_id',
  'customer_id',
  'model',
  'upstream_model',
  'provider',
  'service_tier',
  'price_version',
  'corrects_request_id',
] as const satisfies readonly (keyof SpendRecord)[];

/**
 * The record as it may be stored: the one place text is made safe for ClickHouse and for whoever reads it
 * back (dashboard, terminals, archive files), for proxy and ingest records alike (BatchEncoder calls it on
 * every record it encodes; the ingest API before it answers, so the ids it returns are the stored ones).
 * Names and ids get storableName, metadata values and prompts/responses storableText. Returns the same
 * object when nothing needed replacing (the usual case: no copy), a shallow copy otherwise.
 */
export function storableRecord(record: SpendRecord): SpendRecord {
  let out: SpendRecord | null = null;
  const set = <K extends keyof SpendRecord>(field: K, value: SpendRecord[K]) => {
    out ??= { ...record };
    out[field] = value;
  };
  for (const field of NAME_FIELDS) {
    const value = record[field];
    if (typeof value === 'string') {
      const safe = storableName(value);
      if (safe !== value) set(field, safe);
    }
  }
  if (record.tags.some((t) => storableName(t) !== t)) set('tags', record.tags.map(storableName));
  const entries = Object.entries(record.metadata);
  if (entries.some(([k, v]) => storableName(k) !== k || storableText(v) !== v)) {
    set('metadata', Object.fromEntries(entries.map(([k, v]) => [storableName(k), storableText(v)])));
  }
  for (const field of ['messages', 'response'] as const) {
    const value = record[field];
    if (typeof value === 'string') {
      const safe = storableText(value);
      if (safe !== value) set(field, safe);
    }
  }
  return out ?? record;
}

const NANO_PER_USD = 1_000_000_000n;

/** Exact decimal USD string from nano-USD: 1010000 → "0.001010000". */
export function nanoToUsd(nano: number | bigint): string {
  const n = BigInt(nano);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  return `${sign}${abs / NANO_PER_USD}.${(abs % NANO_PER_USD).toString().padStart(9, '0')}`;
}

/** Parses a decimal USD amount (string or number) to nano-USD, rounding half up at the 9th decimal. */
export function usdToNano(usd: string | number): number {
  const text = typeof usd === 'number' ? usd.toFixed(12) : usd.trim();
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`not a decimal amount: ${JSON.stringify(usd).slice(0, 40)}`);
  const [, sign, whole = '0', frac = ''] = match;
  const digits = `${frac}0000000000`;
  let nano = BigInt(whole) * NANO_PER_USD + BigInt(digits.slice(0, 9));
  if (Number(digits[9]) >= 5) nano += 1n;
  const value = Number(sign === '-' ? -nano : nano);
  if (!Number.isSafeInteger(value)) throw new RangeError('amount out of range');
  return value;
}
