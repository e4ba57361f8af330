// The Responses API's `usage` object ⇄ TokenUsage. Its counts follow the chat convention:
// `input_tokens` includes the cached and cache-written ones (`input_tokens_details.cached_tokens`,
// `cache_write_tokens`), `output_tokens` includes the reasoning ones (`output_tokens_details.reasoning_tokens`).
// Web searches are billed per `web_search_call` output item; the tier served is the Response's `service_tier`.

import { count, serviceTierOf, type TokenUsage, totalTokens, ZERO_USAGE } from '../../pricing/usage.js';
import { isRecord } from '../exchange/types.js';

/** A Response's usage (its `usage`, `output` and `service_tier`); null without `usage` (still in progress). */
export function usageFromResponse(response: Record<string, unknown>): TokenUsage | null {
  const usage = response.usage;
  if (!isRecord(usage)) return null;
  const output = Array.isArray(response.output) ? response.output : [];
  return {
    ...ZERO_USAGE,
    promptTokens: count(usage, 'input_tokens'),
    completionTokens: count(usage, 'output_tokens'),
    cachedTokens: count(usage.input_tokens_details, 'cached_tokens'),
    cacheWriteTokens: count(usage.input_tokens_details, 'cache_write_tokens'),
    reasoningTokens: count(usage.output_tokens_details, 'reasoning_tokens'),
    webSearchRequests: output.filter((item) => isRecord(item) && item.type === 'web_search_call').length,
    serviceTier: serviceTierOf(response.service_tier),
  };
}

/** The Responses `usage` object for a TokenUsage (translated answers). */
export function responsesUsageBody(usage: TokenUsage) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: totalTokens(usage),
  };
}
