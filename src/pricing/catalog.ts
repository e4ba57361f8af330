// The bundled @pydantic/genai-prices catalog (never fetched at runtime) as price sheets: each of its price
// keys mapped onto our usage dimensions. Its version names the catalog on every record it priced.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import { decimalFromNumber, perUnitOf } from './decimal.js';
import type { PriceSheet, Rate } from './sheet.js';

function packageVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
  const pkg: unknown = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
  return `genai-prices@${version}`;
}

/** `genai-prices@0.1.8`: the catalog's package version, which fixes its bundled prices. */
export const CATALOG_VERSION = packageVersion();

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
 * genai-prices' keys per dimension, most specific first (its own fallbacks: a 1-hour cache write without a
 * `cache_write_1h_mtok` is billed at `cache_write_mtok`). `*_mtok` are USD per million, `*_kcount` per thousand.
 */
const CATALOG_KEYS: [keyof PriceSheet, string[], number][] = [
  ['input', ['input_mtok'], 6],
  ['cache_read', ['cache_read_mtok'], 6],
  ['cache_write_5m', ['cache_write_5m_mtok', 'cache_write_mtok'], 6],
  ['cache_write_1h', ['cache_write_1h_mtok', 'cache_write_mtok'], 6],
  ['output', ['output_mtok'], 6],
  ['reasoning', ['output_reasoning_mtok'], 6],
  ['audio_input', ['input_audio_mtok'], 6],
  ['audio_output', ['output_audio_mtok'], 6],
  ['image_input', ['input_image_mtok'], 6],
  ['image_output', ['output_image_mtok'], 6],
  ['request', ['requests_kcount'], 3],
  ['web_search', ['web_searches_kcount'], 3],
];

function sheetOf(price: ModelPrice): PriceSheet {
  const sheet: PriceSheet = {};
  for (const [dimension, keys, perPower] of CATALOG_KEYS) {
    const key = keys.find((k) => price[k] !== undefined);
    const rate = key === undefined ? undefined : rateFrom(price[key], perPower);
    if (rate) sheet[dimension] = rate;
  }
  return sheet;
}

/**
 * Without a provider id (mock deployments) genai-prices guesses the provider from provider-wide name patterns
 * (OpenAI's: `gpt-`, `o1`…, `whisper-1`), which miss models such as `text-embedding-3-small`; then the
 * model's name is looked up in these model makers' own catalogs, in this order.
 */
const MODEL_MAKERS = ['openai', 'anthropic', 'google', 'mistral', 'cohere', 'deepseek', 'x-ai', 'voyageai'];

function catalogPrice(model: string, providerId: string | undefined, at: Date): ReturnType<typeof calcPrice> {
  for (const id of providerId === undefined ? [undefined, ...MODEL_MAKERS] : [providerId]) {
    try {
      const found = calcPrice({}, model, { providerId: id, timestamp: at });
      if (found) return found;
    } catch {
      // not priced by this provider's catalog
    }
  }
  return null;
}

export interface CatalogEntry {
  sheet: PriceSheet;
  /** The model's prices have date or time-of-day conditions: look them up per call, not once. */
  timed: boolean;
}

export function catalogSheet(model: string, providerId: string | undefined, at: Date): CatalogEntry | null {
  const found = catalogPrice(model, providerId, at);
  if (!found) return null;
  return { sheet: sheetOf(found.model_price), timed: Array.isArray(found.model.prices) };
}
