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

export const spendRecordSchema = z.object({
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
  cost_nano: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  cost_status: costStatusSchema,
  usage_estimated: z.boolean(),
  tags: z.array(z.string().min(1).max(MAX_TAG_LENGTH)).max(MAX_TAGS),
  metadata: z.record(z.string(), z.string()),
  stream: z.boolean(),
  source: z.enum(['proxy', 'ingest']),
  /** Only present when `store_prompts_in_spend_logs` is on; stored in its own table. */
  messages: z.string().nullable().optional(),
  response: z.string().nullable().optional(),
});

export type SpendRecord = z.infer<typeof spendRecordSchema>;

/** Tags as stored everywhere: de-duplicated and sorted, so a tag set is one exact value. */
export function normalizeTags(tags: Iterable<string>): string[] {
  return [...new Set(tags)].sort();
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
