// One exporter per window across every worker: a Redis lock with a token, released only by its holder.
// The TTL outlives any sane export (a stuck holder frees the window again after it).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const LOCK_TTL_MS = 15 * 60_000;

// Deletes the key only if it still holds our token (compare-and-delete).
const RELEASE_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
// Extends the key's TTL only if it still holds our token.
const RENEW_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

export function windowLockKey(destination: string, windowStart: number): string {
  return `archive:lock:${destination}:${windowStart}`;
}

/**
 * Runs `fn` holding the window's lock; returns null without running it when another worker holds it.
 * `renewMs` (re-pricing runs, src/reprice): a short lock renewed while `fn` runs, so a holder that died
 * frees it within `renewMs`, however long a live holder takes.
 */
export async function withWindowLock<T>(
  redis: Redis,
  key: string,
  fn: () => Promise<T>,
  renewMs?: number,
): Promise<T | null> {
  const token = randomUUID();
  const ttl = renewMs ?? LOCK_TTL_MS;
  if ((await redis.set(key, token, 'PX', ttl, 'NX')) !== 'OK') return null;
  const renewal = renewMs
    ? setInterval(() => void redis.eval(RENEW_IF_OWNER, 1, key, token, ttl).catch(() => {}), Math.ceil(ttl / 3))
    : null;
  try {
    return await fn();
  } finally {
    if (renewal) clearInterval(renewal);
    await redis.eval(RELEASE_IF_OWNER, 1, key, token);
  }
}
