// Server-side pricing of ingested records that came without a cost, the same way proxied calls are priced
// (src/pricing): a `model` that is a model_list name uses that deployment's price (config prices
// overlaying the catalog); any other model is looked up in the bundled genai-prices catalog by its
// upstream name. A record no price is known for stays `unpriced` (cost 0, flagged, never a real $0).
import type { AppConfig } from '../config/load.js';
import { costNano, type ModelPricing, modelPricing } from '../pricing/modelPricing.js';
import { ModelRouter } from '../proxy/deployments.js';
import { PROVIDERS, splitProviderModel } from '../proxy/providers/catalog.js';
import type { CostStatus } from '../spendRecord.js';

export interface PricingInput {
  model: string;
  upstream_model: string;
  provider: string;
  start_time: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}

export type IngestPricer = (record: PricingInput) => { cost_nano: number; cost_status: CostStatus };

const MAX_CACHED_MODELS = 5000;

export function createIngestPricer(config: AppConfig): IngestPricer {
  const router = new ModelRouter(config.models);
  const catalog = new Map<string, ModelPricing>();
  const catalogPricing = (upstream: string, provider: string): ModelPricing => {
    const { upstreamModel } = splitProviderModel(upstream);
    const cacheKey = `${provider}\u0000${upstreamModel}`;
    let pricing = catalog.get(cacheKey);
    if (!pricing) {
      if (catalog.size >= MAX_CACHED_MODELS) catalog.clear();
      pricing = modelPricing({
        model: upstreamModel,
        providerId: PROVIDERS[provider]?.pricesId,
        useCatalog: true,
        config: {},
      });
      catalog.set(cacheKey, pricing);
    }
    return pricing;
  };
  return (record) => {
    const pricing =
      router.resolve(record.model)?.pricing ?? catalogPricing(record.upstream_model || record.model, record.provider);
    if (pricing.status === 'unpriced') return { cost_nano: 0, cost_status: 'unpriced' };
    const sheet = pricing.sheetAt(new Date(record.start_time));
    const cost = costNano(sheet, {
      promptTokens: record.prompt_tokens,
      completionTokens: record.completion_tokens,
      cachedTokens: record.cached_tokens,
      cacheWriteTokens: record.cache_write_tokens,
      reasoningTokens: record.reasoning_tokens,
    });
    return { cost_nano: cost, cost_status: pricing.status };
  };
}
