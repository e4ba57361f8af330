// Budget and rate-limit fields shared by keys, users, teams, customers, tags and budget tiers. At the API
// edge money is decimal USD (LiteLLM's field names); stored docs and Redis counters hold integer nano-USD.
import { z } from 'zod';
import { parseDuration } from '../periods.js';
import { nanoToUsd, usdToNano } from '../spendRecord.js';
import { lookupId, nameInput } from './fields.js';

const nano = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

export const modelBudgetDocSchema = z.object({ max_budget_nano: nano, budget_duration: z.string().nullable() });

/** Stored form (inside each entity doc). */
export const limitsDocShape = {
  max_budget_nano: nano.nullable().default(null),
  soft_budget_nano: nano.nullable().default(null),
  budget_duration: z.string().nullable().default(null),
  model_max_budget: z.record(z.string(), modelBudgetDocSchema).default({}),
  tpm_limit: count.nullable().default(null),
  rpm_limit: count.nullable().default(null),
  max_parallel_requests: count.nullable().default(null),
  budget_id: z.string().nullable().default(null),
};
const limitsDocSchema = z.object(limitsDocShape);
export type LimitsDoc = z.infer<typeof limitsDocSchema>;

export const usdAmount = z.number().finite().nonnegative().max(9_000_000, 'at most 9,000,000 USD');
const UNIT_MS = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8, mo: 2.592e9 } as const;
/**
 * Longest budget period or key lifetime. Budget periods are blocks counted from 1970, and their edges are
 * ClickHouse DateTime bounds (which end in 2105): `999999mo` made a period ending in the year 85303.
 */
const MAX_DURATION_MS = 100 * 365.25 * 8.64e7;
export const durationInput = z.string().superRefine((text, ctx) => {
  const duration = parseDuration(text);
  if (!duration) ctx.addIssue({ code: 'custom', message: 'a duration like 30s, 15m, 2h, 1d, 7d, 30d or 1mo' });
  else if (duration.count * UNIT_MS[duration.unit] > MAX_DURATION_MS)
    ctx.addIssue({ code: 'custom', message: 'at most 100 years (e.g. 1200mo, 36500d)' });
});

/** API input form: every field optional (absent = unchanged on update), null clears it. */
export const limitsInputShape = {
  max_budget: usdAmount.nullable().optional(),
  soft_budget: usdAmount.nullable().optional(),
  budget_duration: durationInput.nullable().optional(),
  model_max_budget: z
    .record(
      nameInput,
      z.union([usdAmount, z.strictObject({ budget_limit: usdAmount, time_period: durationInput.optional() })]),
    )
    .nullable()
    .optional(),
  tpm_limit: count.nullable().optional(),
  rpm_limit: count.nullable().optional(),
  max_parallel_requests: count.nullable().optional(),
  budget_id: lookupId.nullable().optional(),
};
const limitsInputSchema = z.object(limitsInputShape);
export type LimitsInput = z.infer<typeof limitsInputSchema>;

const usd = (value: number | null | undefined) => (value == null ? null : usdToNano(value));

/** Applies the fields present in `input` onto `current` (creation passes the empty defaults). */
export function applyLimits(current: LimitsDoc, input: LimitsInput): LimitsDoc {
  const next = { ...current };
  if (input.max_budget !== undefined) next.max_budget_nano = usd(input.max_budget);
  if (input.soft_budget !== undefined) next.soft_budget_nano = usd(input.soft_budget);
  if (input.budget_duration !== undefined) next.budget_duration = input.budget_duration;
  if (input.model_max_budget !== undefined) {
    next.model_max_budget = {};
    for (const [model, value] of Object.entries(input.model_max_budget ?? {})) {
      next.model_max_budget[model] =
        typeof value === 'number'
          ? { max_budget_nano: usdToNano(value), budget_duration: null }
          : { max_budget_nano: usdToNano(value.budget_limit), budget_duration: value.time_period ?? null };
    }
  }
  if (input.tpm_limit !== undefined) next.tpm_limit = input.tpm_limit;
  if (input.rpm_limit !== undefined) next.rpm_limit = input.rpm_limit;
  if (input.max_parallel_requests !== undefined) next.max_parallel_requests = input.max_parallel_requests;
  if (input.budget_id !== undefined) next.budget_id = input.budget_id;
  return next;
}

export const EMPTY_LIMITS: LimitsDoc = limitsDocSchema.parse({});

export const nanoToUsdNumber = (value: number | null): number | null =>
  value == null ? null : Number(nanoToUsd(value));

/** A budget tier fills in every limit the entity itself leaves unset (LiteLLM's litellm_budget_table). */
export function effectiveLimits(own: LimitsDoc, tier: LimitsDoc | null): LimitsDoc {
  if (!tier) return own;
  return {
    max_budget_nano: own.max_budget_nano ?? tier.max_budget_nano,
    soft_budget_nano: own.soft_budget_nano ?? tier.soft_budget_nano,
    budget_duration: own.budget_duration ?? tier.budget_duration,
    model_max_budget: Object.keys(own.model_max_budget).length ? own.model_max_budget : tier.model_max_budget,
    tpm_limit: own.tpm_limit ?? tier.tpm_limit,
    rpm_limit: own.rpm_limit ?? tier.rpm_limit,
    max_parallel_requests: own.max_parallel_requests ?? tier.max_parallel_requests,
    budget_id: own.budget_id,
  };
}

/** A doc as the API shows it: the stored nano-USD limits replaced by LiteLLM's USD fields. */
export function withLimitsToApi<T extends LimitsDoc>(doc: T) {
  const { max_budget_nano: _m, soft_budget_nano: _s, ...rest } = doc;
  return { ...rest, ...limitsToApi(doc) };
}

/** The LiteLLM response fields for a limits block. */
export function limitsToApi(doc: LimitsDoc) {
  const modelMaxBudget: Record<string, { budget_limit: number; time_period: string | null }> = {};
  for (const [model, value] of Object.entries(doc.model_max_budget)) {
    modelMaxBudget[model] = {
      budget_limit: Number(nanoToUsd(value.max_budget_nano)),
      time_period: value.budget_duration,
    };
  }
  return {
    max_budget: nanoToUsdNumber(doc.max_budget_nano),
    soft_budget: nanoToUsdNumber(doc.soft_budget_nano),
    budget_duration: doc.budget_duration,
    model_max_budget: modelMaxBudget,
    tpm_limit: doc.tpm_limit,
    rpm_limit: doc.rpm_limit,
    max_parallel_requests: doc.max_parallel_requests,
    budget_id: doc.budget_id,
  };
}
