// A deployment's price book: @pydantic/genai-prices' bundled catalog, overlaid per dimension by config
// prices (model_info / litellm_params `*_cost_per_token`, …), which may change on dated `price_book` entries
// and per service tier; and the deployment's discount / markup multiplier. A model with no price anywhere
// is `unpriced`: cost 0 that the dashboard shows as unknown, never as a real $0.
import type { PriceBookEntry, PriceFields } from '../config/schema.js';
import type { CostStatus, PriceSource } from '../spendRecord.js';
import { CATALOG_VERSION, catalogSheet } from './catalog.js';
import { type Decimal, decimalFromNumber, decimalText, ONE, times } from './decimal.js';
import { STANDARD_TIERS, tierFactor } from './serviceTiers.js';
import { type Dimension, type PriceSheet, type Rate, TOKEN_DIMENSIONS, withFallbacks } from './sheet.js';

/** The price-related part of a model_info (the config's names). */
export interface PriceConfig extends PriceFields {
  service_tier_prices?: Record<string, PriceFields>;
  price_book?: PriceBookEntry[];
  discount?: number;
  markup?: number;
}

/** The prices in force for one call. */
export interface PriceEntry {
  /** Per-unit list prices, every fallback filled in. */
  sheet: PriceSheet;
  source: Extract<PriceSource, 'catalog' | 'config'>;
  /** `genai-prices@0.1.8`, `config:<model_name>@<effective_from|always>[+genai-prices@…]`, plus ` <tier>…`. */
  version: string;
  /** The deployment's (1 − discount) × (1 + markup). */
  multiplier: Decimal;
  /**
   * The prices of a service tier the provider reports: itself for the standard tiers, the tier's config
   * prices and/or rule otherwise (serviceTiers.ts). An entry of a tier is final: its tier() is itself.
   */
  tier(name: string): PriceEntry;
}

export interface ModelPricing {
  /** `custom` when any config price applies, `priced` from the catalog alone, `unpriced` with neither. */
  status: Exclude<CostStatus, 'provided'>;
  /** The price book entry in force at `time` (the call's start); null when the model has no price. */
  at(time: Date): PriceEntry | null;
}

export interface PricingLookup {
  /** The model_list name (names config price-book entries in `price_version`). */
  name: string;
  /** Model id as genai-prices knows it (`gpt-4o`, `claude-3-5-sonnet-20241022`). */
  model: string;
  /** genai-prices provider id; undefined matches the model id across providers (mock deployments). */
  providerId?: string;
  /** false for self-hosted providers (vLLM, Ollama): a model name there says nothing about its price. */
  useCatalog: boolean;
  config: PriceConfig;
}

const CONFIG_FIELDS: [keyof PriceFields, Dimension][] = [
  ['input_cost_per_token', 'input'],
  ['output_cost_per_token', 'output'],
  ['cache_read_input_token_cost', 'cache_read'],
  ['cache_creation_input_token_cost', 'cache_write_5m'],
  ['cache_creation_input_token_cost_above_1hr', 'cache_write_1h'],
  ['output_cost_per_reasoning_token', 'reasoning'],
  ['input_cost_per_audio_token', 'audio_input'],
  ['output_cost_per_audio_token', 'audio_output'],
  ['input_cost_per_image_token', 'image_input'],
  ['output_cost_per_image_token', 'image_output'],
  ['input_cost_per_request', 'request'],
  ['web_search_cost_per_request', 'web_search'],
];

function configSheet(fields: PriceFields): PriceSheet {
  const sheet: PriceSheet = {};
  for (const [field, dimension] of CONFIG_FIELDS) {
    const value = fields[field];
    if (value !== undefined) sheet[dimension] = decimalFromNumber(value);
  }
  return sheet;
}

/** One layer of config prices: the undated model_info prices, or a dated price_book entry over them. */
interface ConfigLayer {
  from: number;
  label: string;
  sheet: PriceSheet;
  tiers: Map<string, PriceSheet>;
}

function configLayers(config: PriceConfig): ConfigLayer[] {
  const tierSheets = (base: ConfigLayer['tiers'], tiers: PriceConfig['service_tier_prices']) => {
    const out = new Map(base);
    for (const [name, fields] of Object.entries(tiers ?? {}))
      out.set(name, { ...base.get(name), ...configSheet(fields) });
    return out;
  };
  const always: ConfigLayer = {
    from: Number.NEGATIVE_INFINITY,
    label: 'always',
    sheet: configSheet(config),
    tiers: tierSheets(new Map(), config.service_tier_prices),
  };
  const dated = [...(config.price_book ?? [])]
    .map((entry) => ({ entry, from: Date.parse(entry.effective_from) }))
    .sort((a, b) => a.from - b.from)
    .map(({ entry, from }) => ({
      from,
      label: entry.effective_from,
      sheet: { ...always.sheet, ...configSheet(entry) },
      tiers: tierSheets(always.tiers, entry.service_tier_prices),
    }));
  return [always, ...dated];
}

/** The layer in force at `time`: the latest one that started by then (the undated one starts always). */
function layerIndexAt(layers: ConfigLayer[], time: number): number {
  let index = 0;
  for (let i = 1; i < layers.length; i++) if ((layers[i] as ConfigLayer).from <= time) index = i;
  return index;
}

const hasPrices = (sheet: PriceSheet) => Object.keys(sheet).length > 0;

/** (1 − discount) × (1 + markup), exactly. */
function multiplierOf(config: PriceConfig): Decimal {
  const discount = decimalFromNumber(config.discount ?? 0);
  const markup = decimalFromNumber(config.markup ?? 0);
  const one = 10n ** BigInt(discount.scale);
  const kept = { units: one - discount.units, scale: discount.scale };
  const raised = { units: 10n ** BigInt(markup.scale) + markup.units, scale: markup.scale };
  const product = times(kept, raised);
  return product.units === 10n ** BigInt(product.scale) ? ONE : product;
}

function scaled(rate: Rate, factor: Decimal): Rate {
  if ('units' in rate) return times(rate, factor);
  return {
    base: times(rate.base, factor),
    tiers: rate.tiers.map((t) => ({ start: t.start, price: times(t.price, factor) })),
  };
}

function priceEntry(
  sheet: PriceSheet,
  source: PriceEntry['source'],
  version: string,
  multiplier: Decimal,
  tierOf: (standard: PriceEntry, name: string) => PriceEntry,
): PriceEntry {
  const tiers = new Map<string, PriceEntry>();
  const entry: PriceEntry = {
    sheet,
    source,
    version,
    multiplier,
    tier(name) {
      if (STANDARD_TIERS.has(name)) return entry;
      let found = tiers.get(name);
      if (!found) {
        found = tierOf(entry, name);
        // Only tiers with prices of their own are kept: a client's arbitrary `service_tier` adds nothing.
        if (found !== entry) tiers.set(name, found);
      }
      return found;
    },
  };
  return entry;
}

export function modelPricing(lookup: PricingLookup): ModelPricing {
  const layers = configLayers(lookup.config);
  const custom = layers.some((l) => hasPrices(l.sheet) || [...l.tiers.values()].some(hasPrices));
  const multiplier = multiplierOf(lookup.config);
  const catalog = (time: Date) => (lookup.useCatalog ? catalogSheet(lookup.model, lookup.providerId, time) : null);
  const first = catalog(new Date());

  const build = (catalogPrices: PriceSheet | undefined, layer: ConfigLayer): PriceEntry | null => {
    const configured = hasPrices(layer.sheet);
    if (!catalogPrices && !configured) return null;
    const version = configured
      ? `config:${lookup.name}@${layer.label}${catalogPrices ? `+${CATALOG_VERSION}` : ''}`
      : CATALOG_VERSION;
    const tierOf = (standard: PriceEntry, name: string): PriceEntry => {
      const factor = tierFactor(lookup.providerId, name);
      const own = layer.tiers.get(name);
      if (!factor && !own) return standard;
      const sheet: PriceSheet = { ...standard.sheet };
      if (factor) {
        for (const dimension of TOKEN_DIMENSIONS) {
          const rate = sheet[dimension];
          if (rate) sheet[dimension] = scaled(rate, factor);
        }
      }
      Object.assign(sheet, own);
      const rule = factor ? `×${decimalText(factor)}` : '';
      const label = `${standard.version} ${name}${rule}${own ? ':config' : ''}`.slice(0, 128);
      return priceEntry(sheet, own ? 'config' : standard.source, label, multiplier, (self) => self);
    };
    return priceEntry(
      withFallbacks({ ...catalogPrices, ...layer.sheet }),
      configured ? 'config' : 'catalog',
      version.slice(0, 128),
      multiplier,
      tierOf,
    );
  };

  // Catalog prices with date or time-of-day conditions are looked up per call; the rest once, with each
  // config layer over them.
  const fixed = first?.timed ? null : layers.map((layer) => build(first?.sheet, layer));
  return {
    status: custom ? 'custom' : first ? 'priced' : 'unpriced',
    at(time) {
      const index = layerIndexAt(layers, time.getTime());
      if (fixed) return fixed[index] ?? null;
      return build(catalog(time)?.sheet, layers[index] as ConfigLayer);
    },
  };
}
