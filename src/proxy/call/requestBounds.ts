// The numbers in a request that decide how much work and money a call may take — output tokens, choices,
// embedding dimensions — checked before anything is priced or forwarded. A call whose worst case cannot be
// bounded is refused (400 naming the field) rather than reserved at a guess: budgets reserve the worst case,
// so an unbounded field would either overflow the price arithmetic or let one call spend past its budget.

import type { CallType } from '../../callGuards.js';
import { badRequest } from '../../errors.js';
import type { PriceEntry } from '../../pricing/modelPricing.js';
import { worstCaseCostNano } from '../../pricing/priceCall.js';
import type { Deployment } from '../deployments.js';

/** Documented in docs/proxy.md ("Request limits"). */
export const REQUEST_LIMITS = {
  /** Above every model's output limit today (the largest are 128K); a reservation needs a finite bound. */
  maxTokens: 1_048_576,
  /** OpenAI refuses `n` above 128. */
  n: 128,
  /** OpenAI's legacy completions refuse `best_of` above 20. */
  bestOf: 20,
  /** OpenAI's largest is 3072 (text-embedding-3-large); this leaves room for other providers' models. */
  dimensions: 8192,
} as const;

/** Output budget when neither the request nor model_info says: the reservation must be finite. */
export const DEFAULT_MAX_COMPLETION_TOKENS = 4096;

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** The field's value when present, after checking it is an integer in [min, max]. */
function integerIn(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(field, `expected an integer between ${min} and ${max}, got ${describe(value)}`);
  }
  return value;
}

export interface OutputBound {
  /** Output tokens per choice: what the provider (or the mock) is told it may produce. */
  maxTokens: number;
  /** Choices billed: OpenAI `n`, or `best_of` on completions (every candidate is billed). */
  choices: number;
  /** The field a refusal of the worst case names. */
  param: string;
}

/** Checks the request's work-bearing numbers and returns its output bound (0 tokens for embeddings). */
export function readOutputBound(
  callType: CallType,
  body: Record<string, unknown>,
  deployment: Deployment,
): OutputBound {
  if (callType === 'embedding') {
    integerIn(body, 'dimensions', 1, REQUEST_LIMITS.dimensions);
    return { maxTokens: 0, choices: 1, param: 'input' };
  }
  // Anthropic's Messages API has only max_tokens (a translation forwards only it); OpenAI's APIs take both
  // and a provider may honour either, so the larger bounds the worst case.
  // The Responses API has one output bound, max_output_tokens (translations forward it as max_tokens).
  if (callType === 'responses') {
    const value = integerIn(body, 'max_output_tokens', 1, REQUEST_LIMITS.maxTokens);
    const maxTokens = value ?? deployment.maxOutputTokens ?? DEFAULT_MAX_COMPLETION_TOKENS;
    return { maxTokens, choices: 1, param: 'max_output_tokens' };
  }
  let maxTokens: number | undefined;
  let param = 'max_tokens';
  const fields = callType === 'messages' ? ['max_tokens'] : ['max_completion_tokens', 'max_tokens'];
  for (const field of fields) {
    const value = integerIn(body, field, 1, REQUEST_LIMITS.maxTokens);
    if (value !== undefined && (maxTokens === undefined || value > maxTokens)) {
      maxTokens = value;
      param = field;
    }
  }
  let choices = 1;
  if (callType !== 'messages') choices = integerIn(body, 'n', 1, REQUEST_LIMITS.n) ?? 1;
  if (callType === 'completion') choices = Math.max(choices, integerIn(body, 'best_of', 1, REQUEST_LIMITS.bestOf) ?? 1);
  return { maxTokens: maxTokens ?? deployment.maxOutputTokens ?? DEFAULT_MAX_COMPLETION_TOKENS, choices, param };
}

/** The call's worst-case cost in nano-USD (see worstCaseCostNano); a 400 naming the field when out of range. */
export function worstCaseOf(prices: PriceEntry | null, promptTokens: number, bound: OutputBound): number {
  try {
    return worstCaseCostNano(prices, promptTokens, bound.maxTokens * bound.choices);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw badRequest(bound.param, 'the worst-case cost of this call is too large to reserve; ask for fewer tokens');
  }
}
