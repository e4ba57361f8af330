// A deployment's price: @pydantic/genai-prices' bundled data (never fetched at runtime), overlaid per
// component by config prices (model_info / litellm_params `*_cost_per_token`, cost_status `custom`).
// A model with neither is `unpriced`: cost 0 that the dashboard shows as unknown, never as a real $0.
import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import type { CostStatus } from '../spendRecord.js';
import { type Decimal, decimalFromNumber, nanoUsd, type PricedQuantity, perUnitOf } from './decimal.js';
import type { TokenUsage } from './usage.js';

/** A per-token price, possibly tiered on the call's input size (long-context pricing). */
export type Rate = Decimal | { base: Decimal; tiers: { start: number; price: Decimal }[] };

/** Per-token prices in USD. A missing cache price falls back to input, a missing reasoning price to output. */
export interface PriceSheet {
  input?: Rate;
  output?: Rate;
  cacheRead?: Rate;
  cacheWrite?: Rate;
  reasoning?: Rate;
  /** USD per request. */
  perRequest?: Decimal;
}

export interface ConfigPrices {
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  output_cost_per_reasoning_token?: number;
}

export interface ModelPricing {
  status: Exclude<CostStatus, 'provided'>;
  sheetAt(now: Date): PriceSheet | null;
}

export interface PricingLookup {
  /** Model id as genai-prices knows it (`gpt-4o`, `claude-3-5-sonnet-20241022`). */
  model: string;
  /** genai-prices provider id; undefined matches the model id across providers (mock deployments). */
  providerId?: string;
  /** false for self-hosted providers (vLLM, Ollama): a model name there says nothing about its price. */
  useCatalog: boolean;
  config: ConfigPrices;
}

function rateFrom(price: ModelPrice[string], perPower: number): Rate | undefined {
  if (typeof price === 'number') return perUnitOf(decimalFromNumber(price), perPower);
  if (price && typeof price === 'object') {
    return {
      base: perUnitOf(decimalFromNumber(price.base), perPower),
      tiers: price.tiers.map((t) => ({ start: t.start, price: perUnitOf(decimalFromNumber(t.price), perPower) })),
    };
  }
  return undefined;
}

/**
 * Without a provider id (mock deployments) genai-prices guesses the provider from provider-wide name patterns
 * (OpenAI's: `gpt-`, `o1`…, `whisper-1`), which miss models such as `text-embedding-3-small`; then the
 * model's name is looked up in these model makers' own catalogs, in this order.
 */
const MODEL_MAKERS = ['openai', 'anthropic', 'google', 'mistral', 'cohere', 'deepseek', 'x-ai', 'voyageai'];

function catalogPrice(model: string, providerId: string | undefined, now: Date): ReturnType<typeof calcPrice> {
  for (const id of providerId === undefined ? [undefined, ...MODEL_MAKERS] : [providerId]) {
    try {
      const found = calcPrice({}, model, { providerId: id, timestamp: now });
      if (found) return found;
    } catch {
      // not priced by this provider's catalog
    }
  }
  return null;
}

function catalogSheet(
  model: string,
  providerId: string | undefined,
  now: Date,
): { sheet: PriceSheet; timed: boolean } | null {
  const found = catalogPrice(model, providerId, now);
  if (!found) return null;
  const p = found.model_price;
  const sheet: PriceSheet = {
    input: rateFrom(p.input_mtok, 6),
    output: rateFrom(p.output_mtok, 6),
    cacheRead: rateFrom(p.cache_read_mtok, 6),
    cacheWrite: rateFrom(p.cache_write_mtok, 6),
    reasoning: rateFrom(p.output_reasoning_mtok, 6),
  };
  if (typeof p.requests_kcount === 'number') sheet.perRequest = perUnitOf(decimalFromNumber(p.requests_kcount), 3);
  return { sheet, timed: Array.isArray(found.model.prices) };
}

function configSheet(config: ConfigPrices): PriceSheet {
  const rate = (v: number | undefined) => (v === undefined ? undefined : decimalFromNumber(v));
  const sheet: PriceSheet = {};
  const entries: [keyof PriceSheet, Decimal | undefined][] = [
    ['input', rate(config.input_cost_per_token)],
    ['output', rate(config.output_cost_per_token)],
    ['cacheRead', rate(config.cache_read_input_token_cost)],
    ['cacheWrite', rate(config.cache_creation_input_token_cost)],
    ['reasoning', rate(config.output_cost_per_reasoning_token)],
  ];
  for (const [key, value] of entries) if (value) sheet[key] = value;
  return sheet;
}

export function modelPricing(lookup: PricingLookup): ModelPricing {
  const overrides = configSheet(lookup.config);
  const custom = Object.keys(overrides).length > 0;
  const catalog = (now: Date) => (lookup.useCatalog ? catalogSheet(lookup.model, lookup.providerId, now) : null);
  const first = catalog(new Date());
  // Prices with date or time-of-day conditions are looked up per call; the rest once.
  const fixed = first && !first.timed ? first.sheet : null;
  const status = custom ? 'custom' : first ? 'priced' : 'unpriced';
  return {
    status,
    sheetAt(now) {
      const base = fixed ?? (first ? catalog(now)?.sheet : undefined) ?? null;
      if (!custom) return base;
      return { ...base, ...overrides };
    },
  };
}

function rateAt(rate: Rate | undefined, promptTokens: number): Decimal | undefined {
  if (!rate || 'units' in rate) return rate;
  let price = rate.base;
  for (const tier of rate.tiers) if (promptTokens > tier.start) price = tier.price;
  return price;
}

/** Exact cost of a call in nano-USD; 0 without a price sheet. */
export function costNano(sheet: PriceSheet | null, usage: TokenUsage): number {
  if (!sheet) return 0;
  const at = (rate: Rate | undefined) => rateAt(rate, usage.promptTokens);
  const input = at(sheet.input);
  const output = at(sheet.output);
  const uncachedInput = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const plainOutput = Math.max(0, usage.completionTokens - usage.reasoningTokens);
  const terms: PricedQuantity[] = [];
  const add = (quantity: number, price: Decimal | undefined) => {
    if (price && quantity > 0) terms.push({ quantity, price });
  };
  add(uncachedInput, input);
  add(usage.cachedTokens, at(sheet.cacheRead) ?? input);
  add(usage.cacheWriteTokens, at(sheet.cacheWrite) ?? input);
  add(plainOutput, output);
  add(usage.reasoningTokens, at(sheet.reasoning) ?? output);
  if (usage.promptTokens + usage.completionTokens > 0) add(1, sheet.perRequest);
  return nanoUsd(terms);
}

/**
 * The most a call with this prompt and output budget can cost, whatever the provider reports: every input
 * token may be billed at the dearest input rate (plain, cache read or cache write — Anthropic's cache writes
 * cost more than plain input) and every output token at the dearest output rate (reasoning tokens are output
 * tokens with their own price). Cost is linear in each split, so the maximum sits on one of these corners.
 * Throws RangeError (from nanoUsd) when the worst case does not fit in nano-USD.
 */
export function worstCaseCostNano(sheet: PriceSheet | null, promptTokens: number, completionTokens: number): number {
  if (!sheet) return 0;
  let worst = 0;
  for (const input of ['plain', 'cacheRead', 'cacheWrite'] as const) {
    for (const reasoning of [0, completionTokens]) {
      const usage: TokenUsage = {
        promptTokens,
        completionTokens,
        cachedTokens: input === 'cacheRead' ? promptTokens : 0,
        cacheWriteTokens: input === 'cacheWrite' ? promptTokens : 0,
        reasoningTokens: reasoning,
      };
      worst = Math.max(worst, costNano(sheet, usage));
    }
  }
  return worst;
}
