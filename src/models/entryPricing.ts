// The price book of a model_list entry — how the proxy prices its calls (deployments.ts) and how records
// priced after the fact (ingest without a cost, re-pricing, the Models tab) find the same prices — without
// the proxy's routing: pricing depends on the entry's provider, upstream model and price config only.
import type { ModelEntry } from '../config/schema.js';
import { type ModelPricing, modelPricing } from '../pricing/modelPricing.js';
import { globRegex, wildcardSpec } from './modelNames.js';
import { PROVIDERS, splitProviderModel } from './providers.js';

export interface EntryPricing {
  provider: string;
  upstreamModel: string;
  pricing: ModelPricing;
}

/** The entry's prices for `upstreamSpec` (its own model, or a wildcard's expansion); null: unknown provider. */
export function entryPricing(entry: ModelEntry, upstreamSpec = entry.litellm_params.model): EntryPricing | null {
  const params = entry.litellm_params;
  const info = entry.model_info ?? {};
  const { provider, upstreamModel } = splitProviderModel(upstreamSpec);
  const known = PROVIDERS[provider];
  if (!known) return null;
  const pricing = modelPricing({
    name: entry.model_name,
    model: info.base_model ?? upstreamModel,
    providerId: known.pricesId,
    useCatalog: known.priced,
    config: {
      ...info,
      input_cost_per_token: info.input_cost_per_token ?? params.input_cost_per_token,
      output_cost_per_token: info.output_cost_per_token ?? params.output_cost_per_token,
    },
  });
  return { provider, upstreamModel, pricing };
}

const MAX_WILDCARD_CACHE = 1000;

/**
 * model_list name → price book, for records priced after the fact. Deterministic, unlike the router's
 * round robin: a name served by several deployments is priced by the one whose upstream model the record
 * names, else by the first — so pricing a record twice gives the same cost (re-pricing relies on it).
 */
export class ModelListPricing {
  private readonly exact = new Map<string, EntryPricing[]>();
  private readonly wildcards: { pattern: RegExp; entry: ModelEntry }[] = [];
  private readonly wildcardCache = new Map<string, EntryPricing | null>();

  constructor(models: readonly ModelEntry[]) {
    for (const entry of models) {
      if (entry.model_name.includes('*')) {
        this.wildcards.push({ pattern: globRegex(entry.model_name), entry });
        continue;
      }
      const priced = entryPricing(entry);
      if (priced) this.exact.set(entry.model_name, [...(this.exact.get(entry.model_name) ?? []), priced]);
    }
  }

  /** The prices of model_list name `model` (null: no such name), preferring the deployment of `upstreamModel`. */
  pricingOf(model: string, upstreamModel?: string): ModelPricing | null {
    const list = this.exact.get(model);
    if (list?.length) return (list.find((p) => p.upstreamModel === upstreamModel) ?? list[0])?.pricing ?? null;
    if (this.wildcardCache.has(model)) return this.wildcardCache.get(model)?.pricing ?? null;
    let found: EntryPricing | null = null;
    for (const { pattern, entry } of this.wildcards) {
      const match = pattern.exec(model);
      if (match) {
        found = entryPricing(entry, wildcardSpec(entry.litellm_params.model, match));
        break;
      }
    }
    if (this.wildcardCache.size >= MAX_WILDCARD_CACHE) this.wildcardCache.clear();
    this.wildcardCache.set(model, found);
    return found?.pricing ?? null;
  }
}
