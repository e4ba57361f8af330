// One exporter per window across every worker: a Redis lock with a token, released only by its holder.
// The TTL outlives any sane export (a stuck holder frees the window again after it).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const LOCK_TTL_MS = 15 * 60_000;

// Deletes the key only if it still holds our token (compare-and-delete).
const RELEASE_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export function windowLockKey(destination: string, windowStart: number): string {
  return `archive:lock:${destination}:${windowStart}`;
}

/** Runs `fn` holding the window's lock; returns null without running it when another worker holds it. */
export async function withWindowLock<T>(redis: Redis, key: string, fn: () => Promise<T>): Promise<T | null> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') return null;
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE_IF_OWNER, 1, key, token);
  }
}
