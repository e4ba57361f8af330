// The Responses API's `usage` object ⇄ TokenUsage. Its counts follow the chat convention:
// `input_tokens` includes the cached ones (`input_tokens_details.cached_tokens`), `output_tokens` includes
// the reasoning ones (`output_tokens_details.reasoning_tokens`).

import { count, type TokenUsage, totalTokens } from '../../pricing/usage.js';
import { isRecord } from '../exchange/types.js';

/** A Response's `usage`; null when absent (a response still in progress has none). */
export function usageFromResponses(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  return {
    promptTokens: count(usage, 'input_tokens'),
    completionTokens: count(usage, 'output_tokens'),
    cachedTokens: count(usage.input_tokens_details, 'cached_tokens'),
    cacheWriteTokens: 0,
    reasoningTokens: count(usage.output_tokens_details, 'reasoning_tokens'),
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
