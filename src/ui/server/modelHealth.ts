// What the Models tab shows for each configured model: where it routes, what it costs per 1M tokens, and
// how it behaved recently (success rate, last error, latency percentiles, RPM/TPM in the last minute vs its
// configured limits), read from the raw spend_logs in one grouped query. Routing and prices come from the
// proxy's own router and price sheets, so this tab shows what calls are actually charged.
// Health counts the provider's failures only: a call Spendhouse refused (budget, rate limit, key, policy,
// bad request) or the client abandoned says nothing about the model (REFUSALS below).
import { z } from 'zod';
import { sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import type { ModelEntry } from '../../config/schema.js';
import { errorStatus } from '../../errors.js';
import { entryPricing } from '../../models/entryPricing.js';
import { costNano } from '../../pricing/priceCall.js';
import type { PriceSheet } from '../../pricing/sheet.js';
import { type TokenUsage, ZERO_USAGE } from '../../pricing/usage.js';
import { nanoToUsd } from '../../spendRecord.js';

export type Health = 'healthy' | 'degraded' | 'down' | 'idle';

export interface ModelHealth {
  model_name: string;
  provider: string;
  upstream_model: string;
  /** USD per 1M tokens as decimal strings; null when no price is known (calls are recorded as unpriced). */
  input_per_1m_usd: string | null;
  output_per_1m_usd: string | null;
  price_source: 'config' | 'catalog' | 'unpriced';
  window_minutes: number;
  requests: number;
  /** Calls refused before or without the provider (budget, rate limit, auth, policy, bad request, left). */
  refused: number;
  /** Provider failures (5xx, timeouts, the provider's own errors) among the other calls. */
  errors: number;
  /** Of the calls that reached the provider; null when none did. */
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  last_call_at: string | null;
  last_error: { at: string; status: number; error_type: string } | null;
  rpm: number;
  tpm: number;
  rpm_limit: number | null;
  tpm_limit: number | null;
  health: Health;
}

const statsRowSchema = z.object({
  model: z.string(),
  requests: z.coerce.number(),
  refused: z.coerce.number(),
  errors: z.coerce.number(),
  p50: z.coerce.number(),
  p95: z.coerce.number(),
  last_call_ms: z.coerce.number(),
  last_error_ms: z.coerce.number(),
  last_error_type: z.string(),
  last_error_status: z.coerce.number(),
  rpm: z.coerce.number(),
  tpm: z.coerce.number(),
});
type StatsRow = z.infer<typeof statsRowSchema>;

/** One million tokens of a kind priced with the proxy's own price sheet (exact nano-USD → decimal USD). */
function perMillion(sheet: PriceSheet | null, usage: Partial<TokenUsage>): string | null {
  if (!sheet) return null;
  const usd = nanoToUsd(costNano(sheet, { ...ZERO_USAGE, ...usage }));
  return usd.replace(/\.?0+$/, '');
}

/** Provider, upstream model and price exactly as the proxy prices this entry's calls (models/entryPricing.ts). */
function routeOf(entry: ModelEntry, now: Date) {
  const priced = entryPricing(entry);
  // The price-book entry in force now (a dated config entry may not have started yet).
  const prices = priced?.pricing.at(now) ?? null;
  const sheet = prices?.sheet ?? null;
  return {
    provider: priced?.provider ?? '',
    upstream: priced?.upstreamModel ?? entry.litellm_params.model,
    source: prices?.source ?? ('unpriced' as const),
    input: perMillion(sheet, { promptTokens: 1_000_000 }),
    output: perMillion(sheet, { completionTokens: 1_000_000 }),
  };
}

/**
 * The provider-failure share of the calls that reached the provider decides the badge: ≤ 5% healthy, ≤ 50%
 * degraded, above that down; none = idle.
 */
export function healthOf(requests: number, errors: number): Health {
  if (requests === 0) return 'idle';
  const share = errors / requests;
  if (share > 0.5) return 'down';
  if (share > 0.05) return 'degraded';
  return 'healthy';
}

/**
 * `error_type:status` of the calls that are not the model's failure: Spendhouse's own refusals with their own
 * status (429 budget_exceeded / rate_limit_exceeded, 401 unauthorized, 403 forbidden / policy_violation,
 * 400 bad_request / content_blocked, 404, 413, …) and a client that left (499). A provider's error keeps the
 * provider's type, or one of these codes with the provider's status passed through (upstream 401 → counted).
 */
const REFUSALS = [
  ...Object.entries(errorStatus)
    .filter(([, status]) => status < 500)
    .map(([code, status]) => `${code}:${status}`),
  'client_disconnected:499',
];

/** Calls only: a re-pricing correction (docs/repricing.md) is no call of the model. */
async function recentStats(warehouse: Warehouse, windowMinutes: number, nowMs: number): Promise<Map<string, StatsRow>> {
  const since = new Date(nowMs - windowMinutes * 60_000);
  const lastMinute = new Date(nowMs - 60_000);
  const failed = sql`status >= 400 AND NOT has(${REFUSALS}, concat(error_type, ':', toString(status)))`;
  const rows = await warehouse.rows(
    sql`SELECT model,
      count() AS requests,
      countIf(status >= 400 AND has(${REFUSALS}, concat(error_type, ':', toString(status)))) AS refused,
      countIf(${failed}) AS errors,
      quantile(0.5)(duration_ms) AS p50,
      quantile(0.95)(duration_ms) AS p95,
      max(start_time_ms) AS last_call_ms,
      maxIf(start_time_ms, ${failed}) AS last_error_ms,
      argMaxIf(error_type, start_time_ms, ${failed}) AS last_error_type,
      argMaxIf(status, start_time_ms, ${failed}) AS last_error_status,
      countIf(start_time >= ${lastMinute}) AS rpm,
      sumIf(total_tokens, start_time >= ${lastMinute}) AS tpm
    FROM spend_logs WHERE start_time >= ${since} AND source != 'correction' GROUP BY model`,
    statsRowSchema,
  );
  return new Map(rows.map((row) => [row.model, row]));
}

export async function modelHealth(
  warehouse: Warehouse,
  models: readonly ModelEntry[],
  windowMinutes = 60,
  nowMs = Date.now(),
): Promise<ModelHealth[]> {
  const stats = await recentStats(warehouse, windowMinutes, nowMs);
  return models.map((entry): ModelHealth => {
    const route = routeOf(entry, new Date(nowMs));
    const s = stats.get(entry.model_name);
    const requests = s?.requests ?? 0;
    const refused = s?.refused ?? 0;
    const served = requests - refused;
    const errors = s?.errors ?? 0;
    return {
      model_name: entry.model_name,
      provider: route.provider,
      upstream_model: route.upstream,
      input_per_1m_usd: route.input,
      output_per_1m_usd: route.output,
      price_source: route.source,
      window_minutes: windowMinutes,
      requests,
      refused,
      errors,
      success_rate: served ? (served - errors) / served : null,
      p50_latency_ms: s && requests ? Math.round(s.p50) : null,
      p95_latency_ms: s && requests ? Math.round(s.p95) : null,
      last_call_at: s?.last_call_ms ? new Date(s.last_call_ms).toISOString() : null,
      last_error:
        s && s.last_error_ms > 0
          ? { at: new Date(s.last_error_ms).toISOString(), status: s.last_error_status, error_type: s.last_error_type }
          : null,
      rpm: s?.rpm ?? 0,
      tpm: s?.tpm ?? 0,
      rpm_limit: entry.litellm_params.rpm ?? null,
      tpm_limit: entry.litellm_params.tpm ?? null,
      health: healthOf(served, errors),
    };
  });
}
