// One GET against a provider's admin API, with the retries a cost import can afford: 429 waits the
// provider's Retry-After (bounded), 5xx and network failures back off, anything else (401 bad admin key,
// 400, 404) fails at once. Failures are ReportErrors carrying the status and the provider's own message —
// never the admin key, which travels only in a header.

import { asError, type Backoff, backoffDelay, sleep } from '../retry.js';
import { storableName } from '../spendRecord.js';

export type CostProvider = 'openai' | 'anthropic';

export class ReportError extends Error {
  constructor(
    readonly provider: CostProvider,
    readonly status: number | null,
    message: string,
  ) {
    super(`${provider} cost report: ${message}`);
    this.name = 'ReportError';
  }
}

export interface HttpPolicy {
  fetch: typeof fetch;
  /** Waits between attempts; tests pass one that records the delay and resolves at once. */
  sleep: (ms: number) => Promise<void>;
  maxAttempts: number;
  /** A 429 asking for longer than this ends the import run (the next run tries again). */
  maxRetryAfterMs: number;
  timeoutMs: number;
  /** Largest response body read (a page of daily buckets is kilobytes). */
  maxBodyBytes: number;
}

export const DEFAULT_HTTP_POLICY: HttpPolicy = {
  fetch: (input, init) => fetch(input, init),
  sleep: (ms) => sleep(ms, { unref: true }),
  maxAttempts: 4,
  maxRetryAfterMs: 120_000,
  timeoutMs: 30_000,
  maxBodyBytes: 16 * 1024 * 1024,
};

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

function providerMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string };
    const message = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
    if (typeof message === 'string') return storableName(message.slice(0, 200));
  } catch {
    // not JSON: the status says enough
  }
  return 'no error message';
}

async function readBody(response: Response, limit: number, provider: CostProvider): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await response.body?.cancel();
    throw new ReportError(provider, response.status, `response of ${declared} bytes is over ${limit}`);
  }
  const text = await response.text();
  if (text.length > limit) throw new ReportError(provider, response.status, `response is over ${limit} bytes`);
  return text;
}

/** 1 s, 2 s, 4 s … at most 30 s between attempts (src/retry.ts's schedule). */
const BACKOFF: Backoff = { baseMs: 1000, maxMs: 30_000 };
const backoffMs = (attempt: number) => backoffDelay(attempt, BACKOFF);

/** GETs `url` and returns its parsed JSON body, retrying what is worth retrying. */
export async function getJson(
  provider: CostProvider,
  url: URL,
  headers: Record<string, string>,
  policy: HttpPolicy,
): Promise<unknown> {
  let lastError: ReportError = new ReportError(provider, null, 'no attempt made');
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    let response: Response;
    try {
      response = await policy.fetch(url, { headers, signal: AbortSignal.timeout(policy.timeoutMs) });
    } catch (err) {
      lastError = new ReportError(provider, null, `request failed (${asError(err).name})`);
      if (attempt < policy.maxAttempts) await policy.sleep(backoffMs(attempt));
      continue;
    }
    const body = await readBody(response, policy.maxBodyBytes, provider);
    if (response.ok) {
      try {
        return JSON.parse(body) as unknown;
      } catch {
        throw new ReportError(provider, response.status, 'response is not JSON');
      }
    }
    lastError = new ReportError(provider, response.status, `HTTP ${response.status}: ${providerMessage(body)}`);
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt);
      if (wait > policy.maxRetryAfterMs || attempt === policy.maxAttempts) throw lastError;
      await policy.sleep(wait);
    } else if (response.status >= 500) {
      if (attempt < policy.maxAttempts) await policy.sleep(backoffMs(attempt));
    } else {
      throw lastError;
    }
  }
  throw lastError;
}
