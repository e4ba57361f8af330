// One home for waiting out failures: the capped exponential schedule every retry loop uses (archive stores,
// the ingest queue and ClickHouse writer, the producer's queue adds, the spend journal, process restarts),
// the retry loop itself, polling a condition (the migration lock, inserts still running), and narrowing
// what a `catch` caught to an Error without a cast.
import { setTimeout as timeout } from 'node:timers/promises';

/** A capped exponential schedule: the first retry waits `baseMs`, each next one twice as long, at most `maxMs`. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** The wait before retry number `attempt` (1 = the first retry; 0 and below count as 1). */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(attempt - 1, 0));
}

/** Resolves after `ms`; an unref'd timer does not keep the process alive for it. */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return timeout(ms, undefined, { ref: !options.unref });
}

/** What a `catch` caught, as an Error (a thrown non-Error becomes an Error with its text). */
export function asError(caught: unknown): Error {
  return caught instanceof Error ? caught : new Error(String(caught));
}

export interface RetryOptions extends Backoff {
  /** Attempts in all, the first included; unlimited when absent. The last failure is rethrown. */
  attempts?: number;
  /** Called before each wait with the failure that caused it. */
  onRetry?: (err: Error, attempt: number, waitMs: number) => void;
}

/** Runs `fn` until it succeeds, waiting `backoffDelay(attempt)` after failed attempt number `attempt`. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= (options.attempts ?? Number.POSITIVE_INFINITY)) throw err;
      const waitMs = backoffDelay(attempt, options);
      options.onRetry?.(asError(err), attempt, waitMs);
      await sleep(waitMs);
    }
  }
}

/**
 * Checks `done` every `everyMs` until it answers true; throws `timeoutError()` once `timeoutMs` has passed
 * (never, without it).
 */
export async function pollUntil(
  done: () => Promise<boolean>,
  options: { everyMs: number; timeoutMs?: number; timeoutError?: () => Error },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  while (!(await done())) {
    if (Date.now() > deadline) throw options.timeoutError?.() ?? new Error(`gave up after ${options.timeoutMs} ms`);
    await sleep(options.everyMs);
  }
}
