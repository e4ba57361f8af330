// Service tiers the catalog has no prices for, priced by the providers' published rules: the Batch API is
// half price on every token (cached input included: half the cache-read price, never the batch input
// price — LiteLLM PR #38341), OpenAI's and Gemini's flex tier is priced as their batch, Gemini's priority
// tier is 1.8×. Other tiers (OpenAI or Anthropic priority) differ per model: they need config prices
// (`service_tier_prices`); without them the standard prices apply and the record's `service_tier` says so.
import { type Decimal, decimalFromText } from './decimal.js';

const HALF = decimalFromText('0.5');

/** The tiers the standard prices are for, as each provider names them. */
export const STANDARD_TIERS = new Set(['', 'default', 'standard', 'auto', 'on_demand']);

/** genai-prices provider id → tier → factor on every token price; `*` for every provider. */
const TIER_RULES: Record<string, Record<string, Decimal>> = {
  '*': { batch: HALF },
  openai: { flex: HALF },
  google: { flex: HALF, priority: decimalFromText('1.8') },
};

export function tierFactor(providerId: string | undefined, tier: string): Decimal | undefined {
  return (providerId === undefined ? undefined : TIER_RULES[providerId]?.[tier]) ?? TIER_RULES['*']?.[tier];
}
