// The price book of a model_list entry outside the router (ingest, re-pricing, the Models tab): the same
// prices the proxy uses, chosen deterministically where the router round-robins, and wildcard names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelEntry } from '../src/config/schema.js';
import { ModelListPricing } from '../src/models/entryPricing.js';
import { priceCall } from '../src/pricing/priceCall.js';
import { ZERO_USAGE } from '../src/pricing/usage.js';
import { ModelRouter } from '../src/proxy/deployments.js';

const entry = (name: string, model: string, input: number): ModelEntry =>
  ({
    model_name: name,
    litellm_params: { model, api_base: 'http://127.0.0.1:1/v1', api_key: 'sk-x' },
    model_info: { input_cost_per_token: input, output_cost_per_token: input },
  }) as ModelEntry;

const MODELS = [
  entry('house', 'openai/house-a', 0.000001),
  entry('house', 'openai/house-b', 0.000002),
  entry('open-*', 'openai/*', 0.000003),
];
const at = new Date('2026-12-01T00:00:00Z');
const costOf = (pricing: ReturnType<ModelListPricing['pricingOf']>) =>
  priceCall(pricing?.at(at) ?? null, { ...ZERO_USAGE, promptTokens: 1000 }).cost_nano;

describe('model_list prices outside the router', () => {
  it('a name with several deployments: the one the record names, else the first — every time', () => {
    const book = new ModelListPricing(MODELS);
    assert.equal(costOf(book.pricingOf('house', 'house-b')), 2_000_000); // 1,000 tokens × $0.000002
    assert.equal(costOf(book.pricingOf('house', 'house-a')), 1_000_000);
    for (let i = 0; i < 3; i++) assert.equal(costOf(book.pricingOf('house')), 1_000_000);
    assert.equal(book.pricingOf('nope'), null);
  });

  it('the same prices as the proxy’s deployment, wildcards included', () => {
    const book = new ModelListPricing(MODELS);
    const router = new ModelRouter(MODELS);
    for (const name of ['open-gpt-4o', 'open-anything']) {
      assert.equal(costOf(book.pricingOf(name)), costOf(router.resolve(name)?.pricing ?? null));
      assert.equal(costOf(book.pricingOf(name)), 3_000_000);
    }
  });
});
