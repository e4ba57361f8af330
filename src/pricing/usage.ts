// Token usage as a SpendRecord counts it. `promptTokens` is every input token, cached and cache-written
// ones included (OpenAI's convention; Anthropic reports them apart and they are summed here);
// `completionTokens` includes reasoning tokens. The three detail counts are subsets, kept apart for pricing.

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

export const ZERO_USAGE: TokenUsage = {
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};

export function totalTokens(usage: TokenUsage): number {
  return usage.promptTokens + usage.completionTokens;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token count a provider reported at `source[key]`; 0 unless it is a positive safe integer (absent, junk). */
export function count(source: unknown, key: string): number {
  if (!isRecord(source)) return 0;
  const value = source[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** OpenAI `usage` (chat, completions, embeddings); null when absent. */
export function usageFromOpenAI(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  return {
    promptTokens: count(usage, 'prompt_tokens'),
    completionTokens: count(usage, 'completion_tokens'),
    cachedTokens: count(usage.prompt_tokens_details, 'cached_tokens'),
    cacheWriteTokens: 0,
    reasoningTokens: count(usage.completion_tokens_details, 'reasoning_tokens'),
  };
}

/** Anthropic Messages `usage`: input_tokens excludes cache reads and writes, so they are added back. */
export function usageFromAnthropic(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const cached = count(usage, 'cache_read_input_tokens');
  const cacheWrite = count(usage, 'cache_creation_input_tokens');
  return {
    promptTokens: count(usage, 'input_tokens') + cached + cacheWrite,
    completionTokens: count(usage, 'output_tokens'),
    cachedTokens: cached,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: 0,
  };
}

/** The OpenAI `usage` object for a TokenUsage (translated responses, mock replies). */
export function openAIUsageBody(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: totalTokens(usage),
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

/** The Anthropic `usage` object for a TokenUsage (mock replies). */
export function anthropicUsageBody(usage: TokenUsage) {
  return {
    input_tokens: Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens),
    output_tokens: usage.completionTokens,
    cache_read_input_tokens: usage.cachedTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
  };
}
