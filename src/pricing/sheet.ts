// A price sheet: USD per unit for each usage dimension, and how a call's usage splits into those
// dimensions. The split and the fallbacks below are the whole pricing rule (docs/pricing.md): anyone can
// recompute a record's cost from its counts and its `unit_prices`.
import { UNIT_PRICE_KEYS, type UnitPriceKey } from '../spendRecord.js';
import type { Decimal, PricedQuantity } from './decimal.js';
import type { TokenUsage } from './usage.js';

export type Dimension = Exclude<UnitPriceKey, 'multiplier'>;

/**
 * In fallback order (a dimension's fallback always comes before it): the record's unit-price keys
 * (spendRecord.ts UNIT_PRICE_KEYS, in the same order) but the multiplier.
 */
export const DIMENSIONS: readonly Dimension[] = UNIT_PRICE_KEYS.filter((k): k is Dimension => k !== 'multiplier');

/** The token dimensions (what service-tier rules such as "batch is half price" scale). */
export const TOKEN_DIMENSIONS = DIMENSIONS.filter((d) => d !== 'request' && d !== 'web_search');

/** A per-unit price, possibly tiered on the call's input size (long-context pricing). */
export type Rate = Decimal | { base: Decimal; tiers: { start: number; price: Decimal }[] };

export type PriceSheet = Partial<Record<Dimension, Rate>>;

/** A dimension without a price of its own is billed at this one's (a cache read without a price is input). */
const FALLBACK: Partial<Record<Dimension, Dimension>> = {
  cache_read: 'input',
  cache_write_5m: 'input',
  cache_write_1h: 'cache_write_5m',
  reasoning: 'output',
  audio_input: 'input',
  image_input: 'input',
  audio_output: 'output',
  image_output: 'output',
};

/** The sheet with every fallback filled in, so pricing a call only reads it. */
export function withFallbacks(sheet: PriceSheet): PriceSheet {
  const out: PriceSheet = {};
  for (const dimension of DIMENSIONS) {
    const fallback = FALLBACK[dimension];
    const rate = sheet[dimension] ?? (fallback ? out[fallback] : undefined);
    if (rate) out[dimension] = rate;
  }
  return out;
}

/** The rate in force for a call with this many input tokens (a tier applies above its start). */
export function rateAt(rate: Rate | undefined, promptTokens: number): Decimal | undefined {
  if (!rate || 'units' in rate) return rate;
  let price = rate.base;
  for (const tier of rate.tiers) if (promptTokens > tier.start) price = tier.price;
  return price;
}

/**
 * How many units of each dimension a call used. Input tokens are split in this order, each part at most
 * what is left: cache reads, 1-hour cache writes, 5-minute cache writes, audio, image, and the rest is
 * plain input; output tokens likewise into reasoning, audio, image and plain output. So the parts always sum
 * to prompt_tokens and completion_tokens, whatever a provider reports. A call that used anything is one
 * request.
 */
export function quantities(usage: TokenUsage): Record<Dimension, number> {
  let input = usage.promptTokens;
  const takeInput = (n: number) => {
    const part = Math.min(Math.max(0, n), input);
    input -= part;
    return part;
  };
  let output = usage.completionTokens;
  const takeOutput = (n: number) => {
    const part = Math.min(Math.max(0, n), output);
    output -= part;
    return part;
  };
  const cacheWrite1h = Math.min(usage.cacheWrite1hTokens, usage.cacheWriteTokens);
  const used = usage.promptTokens + usage.completionTokens + usage.webSearchRequests > 0;
  return {
    cache_read: takeInput(usage.cachedTokens),
    cache_write_1h: takeInput(cacheWrite1h),
    cache_write_5m: takeInput(usage.cacheWriteTokens - cacheWrite1h),
    audio_input: takeInput(usage.audioInputTokens),
    image_input: takeInput(usage.imageInputTokens),
    input,
    reasoning: takeOutput(usage.reasoningTokens),
    audio_output: takeOutput(usage.audioOutputTokens),
    image_output: takeOutput(usage.imageOutputTokens),
    output,
    request: used ? 1 : 0,
    web_search: usage.webSearchRequests,
  };
}

export interface PricedTerm extends PricedQuantity {
  dimension: Dimension;
}

/** The priced terms of a call: each dimension it used that has a price, with the unit price applied. */
export function pricedTerms(sheet: PriceSheet, usage: TokenUsage): PricedTerm[] {
  const used = quantities(usage);
  const terms: PricedTerm[] = [];
  for (const dimension of DIMENSIONS) {
    const quantity = used[dimension];
    if (quantity <= 0) continue;
    const price = rateAt(sheet[dimension], usage.promptTokens);
    if (price) terms.push({ dimension, quantity, price });
  }
  return terms;
}
