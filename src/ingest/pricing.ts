// Server-side pricing of ingested records that came without a cost, the same way proxied calls are priced
// (src/pricing): a `model` that is a model_list name uses that deployment's price book (the one serving the
// record's upstream model when several do: models/entryPricing.ts) (config prices
// overlaying the catalog, its discount / markup); any other model is looked up in the bundled genai-prices
// catalog by its upstream name. The entry in force at the record's start_time applies, at its service tier.
// A record no price is known for stays `unpriced` (cost 0, flagged, never a real $0).
import type { AppConfig } from '../config/load.js';
import { ModelListPricing } from '../models/entryPricing.js';
import { PROVIDERS, splitProviderModel } from '../models/providers.js';
import { type ModelPricing, modelPricing } from '../pricing/modelPricing.js';
import { type PricedCall, priceCall } from '../pricing/priceCall.js';
import { usageFromRecord } from '../pricing/usage.js';
import type { SpendRecord } from '../spendRecord.js';

/** Which price book prices a record: by its model_list name, else the catalog by upstream model/provider. */
export type RecordPricing = (record: Pick<SpendRecord, 'model' | 'upstream_model' | 'provider'>) => ModelPricing;

export type IngestPricer = (record: SpendRecord) => PricedCall;

const MAX_CACHED_MODELS = 5000;

export function createRecordPricing(config: AppConfig): RecordPricing {
  const book = new ModelListPricing(config.models);
  const catalog = new Map<string, ModelPricing>();
  const catalogPricing = (upstream: string, provider: string): ModelPricing => {
    const { upstreamModel } = splitProviderModel(upstream);
    const cacheKey = `${provider}\u0000${upstreamModel}`;
    let pricing = catalog.get(cacheKey);
    if (!pricing) {
      if (catalog.size >= MAX_CACHED_MODELS) catalog.clear();
      pricing = modelPricing({
        name: upstreamModel,
        model: upstreamModel,
        providerId: PROVIDERS[provider]?.pricesId,
        useCatalog: true,
        config: {},
      });
      catalog.set(cacheKey, pricing);
    }
    return pricing;
  };
  return (record) =>
    book.pricingOf(record.model, record.upstream_model) ??
    catalogPricing(record.upstream_model || record.model, record.provider);
}

export function createIngestPricer(config: AppConfig): IngestPricer {
  const pricingOf = createRecordPricing(config);
  const billProviderCost = config.file.general_settings.bill_provider_reported_cost !== false;
  return (record) =>
    priceCall(pricingOf(record).at(new Date(record.start_time)), usageFromRecord(record), { billProviderCost });
}
