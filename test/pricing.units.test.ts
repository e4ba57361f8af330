// The pricing module without servers: exact decimals, price sheets (genai-prices and config), the price
// book (effective dates, discount / markup), service tiers, the worst case reserved, and provenance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFileConfig } from '../src/config/load.js';
import { createIngestPricer } from '../src/ingest/pricing.js';
import { decimalFromNumber, decimalText, nanoUsd, perUnitOf } from '../src/pricing/decimal.js';
import { modelPricing, type PriceConfig, type PriceEntry } from '../src/pricing/modelPricing.js';
import { costNano, priceCall, worstCaseCostNano } from '../src/pricing/priceCall.js';
import { serviceTierOf, type TokenUsage, ZERO_USAGE } from '../src/pricing/usage.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { spendRecord } from './helpers/ingestRecords.js';
import { testConfig } from './helpers/testApp.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const usage = (promptTokens: number, completionTokens: number, extra: Partial<TokenUsage> = {}): TokenUsage => ({
  ...ZERO_USAGE,
  promptTokens,
  completionTokens,
  ...extra,
});
const catalog = (model: string, providerId?: string) =>
  modelPricing({ name: model, model, providerId, useCatalog: true, config: {} });
const house = (config: PriceConfig, name = 'house') => modelPricing({ name, model: name, useCatalog: false, config });
const entryOf = (pricing: ReturnType<typeof modelPricing>, at = NOW): PriceEntry => {
  const entry = pricing.at(at);
  assert.ok(entry, 'priced');
  return entry;
};

test('decimal prices are exact where binary floats are not', () => {
  assert.deepEqual(decimalFromNumber(0.000001), { units: 1n, scale: 6 });
  assert.deepEqual(decimalFromNumber(1e-7), { units: 1n, scale: 7 });
  assert.deepEqual(decimalFromNumber(2.5e-7), { units: 25n, scale: 8 });
  assert.deepEqual(decimalFromNumber(1e21), { units: 10n ** 21n, scale: 0 });
  assert.equal(decimalText(perUnitOf(decimalFromNumber(2.5), 6)), '0.0000025');
  assert.equal(decimalText(decimalFromNumber(3)), '3');
  // gpt-4o-mini, 900 input + 100 cached + 500 output tokens summed in floats is 0.00044249999999999997.
  assert.notEqual((0.15 * 900) / 1e6 + (0.075 * 100) / 1e6 + (0.6 * 500) / 1e6, 0.0004425);
  const perMillion = (usd: number) => perUnitOf(decimalFromNumber(usd), 6);
  const terms = [
    { quantity: 900, price: perMillion(0.15) },
    { quantity: 100, price: perMillion(0.075) },
    { quantity: 500, price: perMillion(0.6) },
  ];
  assert.equal(nanoUsd(terms), 442_500);
  // Half a nano-USD rounds up, once, after the exact sum (and after the multiplier).
  assert.equal(nanoUsd([{ quantity: 1, price: decimalFromNumber(0.0000000005) }]), 1);
  assert.equal(nanoUsd([{ quantity: 3, price: decimalFromNumber(0.0000000002) }]), 1);
  assert.equal(nanoUsd([{ quantity: 1, price: decimalFromNumber(0.000000001) }], decimalFromNumber(0.5)), 1);
  assert.equal(nanoUsd([{ quantity: 1, price: decimalFromNumber(0.000000001) }], decimalFromNumber(0.49)), 0);
  assert.throws(() => decimalFromNumber(-1), RangeError);
});

test('genai-prices sheet: cache reads, cache writes and reasoning priced apart, fallbacks to input/output', () => {
  const mini = catalog('gpt-4o-mini', 'openai');
  assert.equal(mini.status, 'priced');
  // 0.15 input, 0.075 cached input, 0.6 output per million.
  assert.equal(costNano(entryOf(mini).sheet, usage(1000, 500, { cachedTokens: 100 })), 442_500);
  const claude = catalog('claude-3-5-sonnet-20241022', 'anthropic');
  // 1000 cache-written tokens at 3.75 per million.
  assert.equal(costNano(entryOf(claude).sheet, usage(1000, 0, { cacheWriteTokens: 1000 })), 3_750_000);
  const unknown = catalog('house-llama', 'openai');
  assert.deepEqual([unknown.status, unknown.at(NOW)], ['unpriced', null]);
  assert.equal(costNano(null, usage(1000, 1000)), 0);
  const none = priceCall(null, usage(10, 0), {});
  assert.deepEqual(
    [none.cost_nano, none.price_source, none.cost_status, none.price_version],
    [0, 'none', 'unpriced', ''],
  );
  assert.equal(priceCall(null, ZERO_USAGE).cost_status, 'priced', 'nothing used costs an exact 0');
});

test('config prices override per dimension; provenance names the config entry over the catalog', () => {
  const partial = modelPricing({
    name: 'my-gpt',
    model: 'gpt-4o',
    providerId: 'openai',
    useCatalog: true,
    config: { output_cost_per_token: 0.00002 },
  });
  assert.equal(partial.status, 'custom');
  // Input from the catalog (2.5 per million), output from config (20 per million).
  const priced = priceCall(entryOf(partial), usage(1000, 1000));
  assert.equal(priced.cost_nano, 2_500_000 + 20_000_000);
  assert.equal(priced.price_source, 'config');
  assert.equal(priced.cost_status, 'custom');
  assert.match(priced.price_version, /^config:my-gpt@always\+genai-prices@\d/);
  assert.deepEqual(priced.unit_prices, { input: '0.0000025', output: '0.00002', multiplier: '1' });
  const own = house({
    input_cost_per_token: 0.000001,
    output_cost_per_token: 0.000002,
    cache_read_input_token_cost: 0.0000001,
    output_cost_per_reasoning_token: 0.000004,
  });
  // 600 input × 1 + 400 cached × 0.1 + 400 output × 2 + 100 reasoning × 4 (µUSD) = 1840 µUSD.
  assert.equal(
    priceCall(entryOf(own), usage(1000, 500, { cachedTokens: 400, reasoningTokens: 100 })).cost_nano,
    1_840_000,
  );
  assert.equal(entryOf(own).version, 'config:house@always');
});

test('price book: the entry in force at the call start applies; dated entries overlay the undated prices', () => {
  const book = house({
    input_cost_per_token: 0.000001,
    output_cost_per_token: 0.000002,
    price_book: [
      { effective_from: '2026-12-01T00:00:00Z', input_cost_per_token: 0.0000005 },
      { effective_from: '2026-06-01', output_cost_per_token: 0.000003 },
    ],
  });
  const cost = (at: string) => priceCall(entryOf(book, new Date(at)), usage(1000, 1000));
  // Before any dated entry: 1000 × 1 + 1000 × 2 µUSD.
  assert.equal(cost('2026-01-01T00:00:00Z').cost_nano, 3_000_000);
  assert.equal(cost('2026-01-01T00:00:00Z').price_version, 'config:house@always');
  // From 2026-06-01 the output is 3; the June entry does not carry December's input.
  assert.equal(cost('2026-06-01T00:00:00Z').cost_nano, 4_000_000);
  assert.equal(cost('2026-06-01T00:00:00Z').price_version, 'config:house@2026-06-01');
  // From 2026-12-01 the input is 0.5 and the output back to the undated 2 (each entry overlays the undated prices).
  assert.equal(cost('2026-12-01T00:00:00Z').cost_nano, 2_500_000);
  assert.equal(cost('2026-11-30T23:59:59.999Z').cost_nano, 4_000_000);
});

test('discount and markup: one exact multiplier, list cost kept apart, one rounding at the end', () => {
  // (1 − 0.15) × (1 + 0.1) = 0.935
  const negotiated = house({ input_cost_per_token: 0.000000333, discount: 0.15, markup: 0.1 });
  const priced = priceCall(entryOf(negotiated), usage(7, 0));
  // List: 7 × 0.000000333 = 0.000002331 USD = 2331 nano. Billed: 2331 × 0.935 = 2179.485 → 2179.
  assert.equal(priced.list_cost_nano, 2331);
  assert.equal(priced.cost_nano, 2179);
  assert.equal(priced.unit_prices.multiplier, '0.935');
  // Rounded once: 3 × 0.0000000015 × 0.5 = 0.00000000225 → 2 nano (rounding per term would give 3).
  const tiny = priceCall(entryOf(house({ input_cost_per_token: 0.0000000015, discount: 0.5 })), usage(3, 0));
  assert.deepEqual([tiny.list_cost_nano, tiny.cost_nano], [5, 2]);
});

test('service tiers: batch is half of every token price (cached input at half the cache-read price), flex too on OpenAI', () => {
  const gpt4o = entryOf(catalog('gpt-4o', 'openai'));
  const u = usage(10_000, 1000, { cachedTokens: 8000 });
  // Standard: 2000 × 2.5 + 8000 × 1.25 + 1000 × 10 per million = 0.005 + 0.01 + 0.01 = 0.025 USD.
  assert.equal(priceCall(gpt4o, u).cost_nano, 25_000_000);
  // Batch: exactly half: 0.0125 USD. The cached 8000 at 0.625/M, not at the batch input rate 1.25/M.
  const batch = priceCall(gpt4o, u, { serviceTier: 'batch' });
  assert.equal(batch.cost_nano, 12_500_000);
  assert.equal(batch.unit_prices.cache_read, '0.000000625');
  assert.match(batch.price_version, /^genai-prices@\S+ batch×0\.5$/);
  assert.equal(priceCall(gpt4o, { ...u, serviceTier: 'flex' }).cost_nano, 12_500_000);
  assert.equal(priceCall(gpt4o, { ...u, serviceTier: 'default' }).cost_nano, 25_000_000);
  // A tier entry is final: pricing the batch entry again at its tier does not halve twice.
  assert.equal(priceCall(gpt4o.tier('batch'), u, { serviceTier: 'batch' }).cost_nano, 12_500_000);
  // OpenAI priority has no published rule: config prices, else the standard prices (the same entry: an
  // unknown tier a client names is not kept per name).
  assert.equal(priceCall(gpt4o, { ...u, serviceTier: 'priority' }).cost_nano, 25_000_000);
  assert.equal(gpt4o.tier('priority'), gpt4o);
  assert.equal(gpt4o.tier('made-up-tier'), gpt4o);
  assert.equal(gpt4o.tier('batch'), gpt4o.tier('batch'), 'a priced tier is built once');
  const priority = modelPricing({
    name: 'gpt-4o-priority',
    model: 'gpt-4o',
    providerId: 'openai',
    useCatalog: true,
    config: {
      service_tier_prices: { priority: { input_cost_per_token: 0.00000425, output_cost_per_token: 0.000017 } },
    },
  });
  // 2000 × 4.25 + 8000 × 1.25 (catalog cache read) + 1000 × 17 per million = 0.0085 + 0.01 + 0.017.
  const p = priceCall(entryOf(priority), { ...u, serviceTier: 'priority' });
  assert.equal(p.cost_nano, 35_500_000);
  assert.equal(p.price_source, 'config');
});

test('worst case: every input token at the dearest input rate, every output token at the dearest output rate', () => {
  // Anthropic: 1-hour cache writes (6/M) are the dearest input, output 15/M.
  const sonnet = entryOf(catalog('claude-sonnet-4-20250514', 'anthropic'));
  assert.equal(worstCaseCostNano(sonnet, 1000, 500), 1000 * 6000 + 500 * 15_000);
  assert.equal(worstCaseCostNano(null, 1000, 500), 0);
  assert.throws(() => worstCaseCostNano(sonnet, 10, 2 ** 53 - 1), RangeError);
  // The multiplier is reserved too.
  const marked = entryOf(house({ input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, markup: 0.5 }));
  assert.equal(worstCaseCostNano(marked, 1000, 500), (1000 * 1000 + 500 * 2000) * 1.5);
});

test('config errors name the exact path: a bad effective_from, a repeated one, a discount above 1', () => {
  const configWith = (model_info: unknown) => ({
    model_list: [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o' }, model_info }],
  });
  const problems = (model_info: unknown) => {
    try {
      validateFileConfig(configWith(model_info), {}, 'config.yaml');
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };
  assert.match(
    problems({ price_book: [{ effective_from: 'soon' }] }).join('\n'),
    /model_list\[0\]\.model_info\.price_book\[0\]\.effective_from/,
  );
  assert.match(
    problems({ price_book: [{ effective_from: '2026-01-01' }, { effective_from: '2026-01-01T00:00:00Z' }] }).join('\n'),
    /model_list\[0\]\.model_info\.price_book\[1\]\.effective_from: the same instant as price_book\[0\]/,
  );
  assert.match(problems({ discount: 1.5 }).join('\n'), /model_list\[0\]\.model_info\.discount/);
  assert.match(
    problems({ service_tier_prices: { priority: { input_cost_per_token: -1 } } }).join('\n'),
    /model_list\[0\]\.model_info\.service_tier_prices\.priority\.input_cost_per_token/,
  );
});

test('service tiers as read: plain names only, anything else is unknown', () => {
  assert.equal(serviceTierOf('priority'), 'priority');
  assert.equal(serviceTierOf('standard_only'), 'standard_only');
  for (const hostile of ['', 'x'.repeat(33), 'flex\u0000', 'a b', '\uD800', 42, null, { tier: 'flex' }]) {
    assert.equal(serviceTierOf(hostile), '');
  }
});

test('ingested records without a cost: the model_list name’s price book at start_time, else the catalog by upstream model', () => {
  const price = createIngestPricer(
    testConfig({
      model_list: [
        {
          model_name: 'claude-house',
          litellm_params: { model: 'anthropic/claude-sonnet-4-20250514' },
          model_info: { markup: 0.5, price_book: [{ effective_from: '2026-12-01', input_cost_per_token: 0.000002 }] },
        },
      ],
    }),
  );
  const record = (overrides: Partial<SpendRecord>) =>
    spendRecord('ingest-price', 1, {
      prompt_tokens: 1000,
      completion_tokens: 100,
      cached_tokens: 0,
      reasoning_tokens: 0,
      cache_write_tokens: 200,
      cache_write_1h_tokens: 200,
      ...overrides,
    });
  // Before the dated entry: 800 × 3 + 200 × 6 (1-hour writes) + 100 × 15 = 2400 + 1200 + 1500 = 5100 µUSD, × 1.5.
  const before = price(record({ model: 'claude-house', start_time: '2026-11-30T23:59:59.000Z' }));
  assert.deepEqual([before.list_cost_nano, before.cost_nano], [5_100_000, 7_650_000]);
  // From 2026-12-01 the input is 2/M: 1600 + 1200 + 1500 = 4300 µUSD, × 1.5.
  const after = price(record({ model: 'claude-house', start_time: '2026-12-01T00:00:00.000Z' }));
  assert.deepEqual([after.list_cost_nano, after.cost_nano, after.price_source], [4_300_000, 6_450_000, 'config']);
  // A model outside model_list: the catalog by upstream model and provider, at its service tier.
  const batch = price(
    record({
      model: 'elsewhere',
      upstream_model: 'claude-sonnet-4-20250514',
      provider: 'anthropic',
      service_tier: 'batch',
    }),
  );
  assert.deepEqual([batch.cost_nano, batch.price_source], [2_550_000, 'catalog']);
  const unknown = price(record({ model: 'nobody-knows', upstream_model: 'nobody-knows', provider: 'ollama' }));
  assert.deepEqual([unknown.cost_nano, unknown.cost_status, unknown.price_source], [0, 'unpriced', 'none']);
});
