// Token usage as a SpendRecord counts it, read from each provider's own fields. `promptTokens` is every
// input token, cached and cache-written ones included (OpenAI's convention; Anthropic and Bedrock report them
// apart and they are summed here); `completionTokens` includes reasoning tokens. The detail counts are
// subsets, kept apart for pricing: cache reads, cache writes (of which `cacheWrite1hTokens` had a 1-hour TTL),
// audio and image input are parts of promptTokens; reasoning, audio and image output parts of completionTokens.
import type { SpendRecord } from '../spendRecord.js';
import { decimalFromNumber, roundToNano } from './decimal.js';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  /** The part of cacheWriteTokens written with a 1-hour TTL (Anthropic); the rest are 5-minute writes. */
  cacheWrite1hTokens: number;
  reasoningTokens: number;
  audioInputTokens: number;
  imageInputTokens: number;
  audioOutputTokens: number;
  imageOutputTokens: number;
  /** Billed per use outside the tokens: OpenAI web_search_call items, Anthropic server_tool_use. */
  webSearchRequests: number;
  /** The tier the provider says it served (`default`, `flex`, `priority`, `standard`, `batch`); '' unknown. */
  serviceTier: string;
  /** The cost the provider itself reported (OpenRouter `usage.cost`), in nano-USD; null when none. */
  providerCostNano: number | null;
}

export const ZERO_USAGE: TokenUsage = {
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
  audioInputTokens: 0,
  imageInputTokens: 0,
  audioOutputTokens: 0,
  imageOutputTokens: 0,
  webSearchRequests: 0,
  serviceTier: '',
  providerCostNano: null,
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

/** A tier name as providers spell them (`default`, `flex`, `priority`, `standard_only`); at most 32 characters. */
const TIER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** A provider's (or a request's) `service_tier` as recorded: '' when absent or not a plain tier name. */
export function serviceTierOf(value: unknown): string {
  return typeof value === 'string' && TIER_NAME.test(value) ? value : '';
}

/** A provider-reported cost in USD (a JSON number, e.g. OpenRouter's `usage.cost`) in exact nano-USD. */
export function providerCostOf(usd: unknown): number | null {
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0) return null;
  try {
    return roundToNano(decimalFromNumber(usd));
  } catch {
    return null;
  }
}

/**
 * OpenAI `usage` (chat, completions, embeddings, and OpenAI-compatible providers such as OpenRouter); null
 * when absent. `service_tier` sits beside `usage` in the body (and in every stream chunk).
 */
export function usageFromOpenAI(usage: unknown, serviceTier?: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const input = usage.prompt_tokens_details;
  const output = usage.completion_tokens_details;
  return {
    promptTokens: count(usage, 'prompt_tokens'),
    completionTokens: count(usage, 'completion_tokens'),
    cachedTokens: count(input, 'cached_tokens'),
    cacheWriteTokens: count(input, 'cache_write_tokens'),
    cacheWrite1hTokens: 0,
    reasoningTokens: count(output, 'reasoning_tokens'),
    audioInputTokens: count(input, 'audio_tokens'),
    imageInputTokens: count(input, 'image_tokens'),
    audioOutputTokens: count(output, 'audio_tokens'),
    imageOutputTokens: count(output, 'image_tokens'),
    webSearchRequests: count(usage.server_tool_use, 'web_search_requests'),
    serviceTier: serviceTierOf(serviceTier),
    providerCostNano: providerCostOf(usage.cost),
  };
}

/**
 * Anthropic Messages `usage`: input_tokens excludes cache reads and writes, so they are added back. Cache
 * writes are split by TTL in `cache_creation` (ephemeral_5m / ephemeral_1h); older answers only give the total.
 */
export function usageFromAnthropic(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const cached = count(usage, 'cache_read_input_tokens');
  const write5m = count(usage.cache_creation, 'ephemeral_5m_input_tokens');
  const write1h = count(usage.cache_creation, 'ephemeral_1h_input_tokens');
  const cacheWrite = Math.max(count(usage, 'cache_creation_input_tokens'), write5m + write1h);
  return {
    ...ZERO_USAGE,
    promptTokens: count(usage, 'input_tokens') + cached + cacheWrite,
    completionTokens: count(usage, 'output_tokens'),
    cachedTokens: cached,
    cacheWriteTokens: cacheWrite,
    cacheWrite1hTokens: write1h,
    webSearchRequests: count(usage.server_tool_use, 'web_search_requests'),
    serviceTier: serviceTierOf(usage.service_tier),
  };
}

/** A stored record's usage (re-pricing, server-side pricing of ingested records). */
export function usageFromRecord(record: SpendRecord): TokenUsage {
  return {
    promptTokens: record.prompt_tokens,
    completionTokens: record.completion_tokens,
    cachedTokens: record.cached_tokens,
    cacheWriteTokens: record.cache_write_tokens,
    cacheWrite1hTokens: record.cache_write_1h_tokens,
    reasoningTokens: record.reasoning_tokens,
    audioInputTokens: record.audio_input_tokens,
    imageInputTokens: record.image_input_tokens,
    audioOutputTokens: record.audio_output_tokens,
    imageOutputTokens: record.image_output_tokens,
    webSearchRequests: record.web_search_requests,
    serviceTier: record.service_tier,
    providerCostNano: record.provider_cost_nano,
  };
}

/** The record's counts of a usage — usageFromRecord's inverse (proxied calls, Batch API result lines). */
export function usageRecordFields(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    cached_tokens: usage.cachedTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    reasoning_tokens: usage.reasoningTokens,
    total_tokens: totalTokens(usage),
    cache_write_1h_tokens: usage.cacheWrite1hTokens,
    audio_input_tokens: usage.audioInputTokens,
    image_input_tokens: usage.imageInputTokens,
    audio_output_tokens: usage.audioOutputTokens,
    image_output_tokens: usage.imageOutputTokens,
    web_search_requests: usage.webSearchRequests,
  } satisfies Partial<SpendRecord>;
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
