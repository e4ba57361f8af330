// Pricing one call: its usage against the price entry in force (and the service tier it was served at),
// with the provenance that lets anyone recompute the cost from the record alone (docs/pricing.md):
//   list_cost_nano = round_half_up(Σ quantity × unit_prices[dimension])
//   cost_nano      = round_half_up(Σ quantity × unit_prices[dimension] × multiplier)
//                    or, when the provider's own reported cost is billed, round_half_up(provider × multiplier).
import type { CostStatus, PriceSource, UnitPrices } from '../spendRecord.js';
import { type Decimal, decimalText, isOne, nanoUsd, ONE, roundToNano } from './decimal.js';
import type { PriceEntry } from './modelPricing.js';
import { type Dimension, type PriceSheet, pricedTerms, rateAt } from './sheet.js';
import type { TokenUsage } from './usage.js';

/** The record fields pricing fills in. */
export interface PricedCall {
  cost_nano: number;
  list_cost_nano: number;
  provider_cost_nano: number | null;
  price_source: PriceSource;
  price_version: string;
  unit_prices: UnitPrices;
  cost_status: CostStatus;
}

export interface PriceCallOptions {
  /** The service tier to price at; defaults to the tier the provider reported (`usage.serviceTier`). */
  serviceTier?: string;
  /** general_settings.bill_provider_reported_cost (default true): bill the provider's cost when it gave one. */
  billProviderCost?: boolean;
}

/** A cost too large for nano-USD (a provider reporting absurd counts) is the largest amount we can store. */
function bounded(cost: () => number): number {
  try {
    return cost();
  } catch (err) {
    if (err instanceof RangeError) return Number.MAX_SAFE_INTEGER;
    throw err;
  }
}

/** Exact list cost (no multiplier) of a usage at a sheet in nano-USD; 0 without a sheet. */
export function costNano(sheet: PriceSheet | null | undefined, usage: TokenUsage): number {
  return sheet ? nanoUsd(pricedTerms(sheet, usage)) : 0;
}

/**
 * Prices a call at `prices` — the entry in force at its start, `modelPricing(…).at(start_time)` — and the
 * service tier it was served at. No entry (no deployment, e.g. a refused call, or a model without any
 * price): cost 0, `none`, `unpriced` when anything was used (never a real $0), `priced` when nothing was.
 */
export function priceCall(prices: PriceEntry | null, usage: TokenUsage, options: PriceCallOptions = {}): PricedCall {
  const entry = prices?.tier(options.serviceTier ?? usage.serviceTier) ?? null;
  const multiplier = entry?.multiplier ?? ONE;
  const unitPrices: UnitPrices = {};
  const priced = entry ? pricedTerms(entry.sheet, usage) : null;
  if (priced) for (const term of priced) unitPrices[term.dimension] = decimalText(term.price);
  unitPrices.multiplier = decimalText(multiplier);
  const list = priced ? bounded(() => nanoUsd(priced)) : 0;
  const provider = usage.providerCostNano;
  if (provider !== null && options.billProviderCost !== false) {
    return {
      cost_nano: bounded(() => applyMultiplier(provider, multiplier)),
      list_cost_nano: list,
      provider_cost_nano: provider,
      price_source: 'provider',
      price_version: 'provider:usage.cost',
      unit_prices: unitPrices,
      cost_status: 'priced',
    };
  }
  if (!entry || !priced) {
    const used = usage.promptTokens + usage.completionTokens + usage.webSearchRequests > 0;
    return {
      cost_nano: 0,
      list_cost_nano: 0,
      provider_cost_nano: provider,
      price_source: 'none',
      price_version: '',
      unit_prices: unitPrices,
      cost_status: used ? 'unpriced' : 'priced',
    };
  }
  return {
    cost_nano: isOne(multiplier) ? list : bounded(() => nanoUsd(priced, multiplier)),
    list_cost_nano: list,
    provider_cost_nano: provider,
    price_source: entry.source,
    price_version: entry.version,
    unit_prices: unitPrices,
    cost_status: entry.source === 'config' ? 'custom' : 'priced',
  };
}

function applyMultiplier(nano: number, multiplier: Decimal): number {
  return roundToNano({ units: BigInt(nano) * multiplier.units, scale: 9 + multiplier.scale });
}

const maxOf = (a: Decimal | undefined, b: Decimal | undefined): Decimal | undefined => {
  if (!a || !b) return a ?? b;
  const scale = Math.max(a.scale, b.scale);
  return a.units * 10n ** BigInt(scale - a.scale) >= b.units * 10n ** BigInt(scale - b.scale) ? a : b;
};

const INPUT: Dimension[] = ['input', 'cache_read', 'cache_write_5m', 'cache_write_1h', 'audio_input', 'image_input'];
const OUTPUT: Dimension[] = ['output', 'reasoning', 'audio_output', 'image_output'];

/**
 * The most a call with this prompt and output budget can cost at an entry, whatever the provider reports:
 * every input token at the dearest input rate (plain, cache read, cache write of either TTL, audio, image)
 * and every output token at the dearest output rate, plus the per-request price, times the multiplier.
 * Cost is linear in each split, so the maximum sits on one of these corners. Per-use tool charges (web
 * searches) have no bound in the request and are not reserved. Throws RangeError when out of nano-USD.
 */
export function worstCaseCostNano(entry: PriceEntry | null, promptTokens: number, completionTokens: number): number {
  if (!entry) return 0;
  const at = (d: Dimension) => rateAt(entry.sheet[d], promptTokens);
  const dearestInput = INPUT.map(at).reduce(maxOf, undefined);
  const dearestOutput = OUTPUT.map(at).reduce(maxOf, undefined);
  const terms = [
    { quantity: promptTokens, price: dearestInput },
    { quantity: completionTokens, price: dearestOutput },
    { quantity: promptTokens + completionTokens > 0 ? 1 : 0, price: at('request') },
  ].filter((t): t is { quantity: number; price: Decimal } => t.price !== undefined);
  return nanoUsd(terms, entry.multiplier);
}
