// Retry with exponential backoff for archive writes: an unreachable S3 delays a window, never skips it.
export interface BackoffOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Called before each wait, with the failure that caused it (status/readiness use it). */
  onRetry?: (err: Error, attempt: number, waitMs: number) => void;
}

export const STORE_BACKOFF: BackoffOptions = { attempts: 8, baseMs: 250, maxMs: 5000 };

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}

export async function withBackoff<T>(fn: () => Promise<T>, options: BackoffOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts) throw err;
      const waitMs = backoffDelay(attempt, options.baseMs, options.maxMs);
      options.onRetry?.(err as Error, attempt, waitMs);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
