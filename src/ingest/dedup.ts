// The exactly-once bookkeeping (design in docs/ingest.md, "Exactly once"):
// - a per-batch marker + lock in Redis: the marker says "an attempt of this batch may have reached
//   ClickHouse", the lock keeps two workers off one batch (a stalled job handed to a second worker);
// - the ClickHouse check: which of a batch's request_ids spend_logs already holds, looked up in the
//   records' own time window (the table is sorted by time first, so this reads a few granules);
// - ingest claims: a request_id sent through the ingest API is claimed in Redis for a while, so a second
//   copy arriving before the first is inserted is answered `duplicate` and never queued.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { joinSql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';

/**
 * KEYS[1] batch marker, KEYS[2] batch lock; ARGV[1] lock token, ARGV[2] lock ttl ms, ARGV[3] marker ttl s.
 * Returns -1 if another worker holds the lock, else 1 when this is the batch's first attempt, 0 when an
 * earlier attempt exists. Atomic so "first attempt" is true for exactly one attempt of a batch ever.
 */
const BEGIN_BATCH_ATTEMPT = `
if redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') == false then return -1 end
if redis.call('set', KEYS[1], '1', 'EX', ARGV[3], 'NX') == false then return 0 end
return 1`;

// Extends the lock only if we still hold it (a worker alive but slow keeps its batch).
const RENEW_BATCH_ATTEMPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

// Deletes the lock only if we still hold it (compare-and-delete).
const END_BATCH_ATTEMPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** How long a batch id is remembered: longer than any realistic queue backlog or producer retry. */
const BATCH_MARKER_TTL_S = 7 * 24 * 3600;

export type AttemptStart = { kind: 'locked' } | { kind: 'started'; firstAttempt: boolean };

export async function beginBatchAttempt(
  redis: Redis,
  batchId: string,
  token: string,
  lockTtlMs: number,
): Promise<AttemptStart> {
  const result = await redis.eval(
    BEGIN_BATCH_ATTEMPT,
    2,
    `ingest:batch:${batchId}:seen`,
    `ingest:batch:${batchId}:lock`,
    token,
    lockTtlMs,
    BATCH_MARKER_TTL_S,
  );
  if (result === -1) return { kind: 'locked' };
  return { kind: 'started', firstAttempt: result === 1 };
}

export async function renewBatchAttempt(
  redis: Redis,
  batchId: string,
  token: string,
  lockTtlMs: number,
): Promise<void> {
  await redis.eval(RENEW_BATCH_ATTEMPT, 1, `ingest:batch:${batchId}:lock`, token, lockTtlMs);
}

export async function endBatchAttempt(redis: Redis, batchId: string, token: string): Promise<void> {
  await redis.eval(END_BATCH_ATTEMPT, 1, `ingest:batch:${batchId}:lock`, token);
}

const queriesKey = (batchId: string) => `ingest:batch:${batchId}:queries`;

/** Notes, under each batch, the query_id of an insert about to carry its rows (kept as long as the marker). */
export async function recordBatchQuery(redis: Redis, batchIds: readonly string[], queryId: string): Promise<void> {
  const pipeline = redis.pipeline();
  for (const id of batchIds) pipeline.sadd(queriesKey(id), queryId).expire(queriesKey(id), BATCH_MARKER_TTL_S);
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
}

/** Every insert that ever carried rows of this batch. */
export async function batchQueries(redis: Redis, batchId: string): Promise<string[]> {
  return redis.smembers(queriesKey(batchId));
}

/** ≈80 KB of SQL per lookup: under 18.16's default max_query_size (256 KiB) even with 128-char ids. */
const LOOKUP_CHUNK = 1500;
const requestIdRow = z.object({ request_id: z.string() });

export interface TimedId {
  request_id: string;
  /** Epoch seconds of start_time (the table's sort prefix and partition key). */
  start_time: number;
}

/** The request_ids among `items` that spend_logs already holds. */
export async function existingRequestIds(warehouse: Warehouse, items: readonly TimedId[]): Promise<Set<string>> {
  const found = new Set<string>();
  // Sorting by time keeps each chunk's window narrow, so ClickHouse reads only the parts it must.
  const sorted = [...items].sort((a, b) => a.start_time - b.start_time);
  for (let i = 0; i < sorted.length; i += LOOKUP_CHUNK) {
    const chunk = sorted.slice(i, i + LOOKUP_CHUNK);
    const from = new Date((chunk[0]?.start_time ?? 0) * 1000);
    const to = new Date((chunk[chunk.length - 1]?.start_time ?? 0) * 1000);
    const rows = await warehouse.rows(
      sql`SELECT DISTINCT request_id FROM spend_logs
          WHERE start_time >= ${from} AND start_time <= ${to}
            AND request_id IN (${joinSql(chunk.map((c) => c.request_id))})`,
      requestIdRow,
    );
    for (const row of rows) found.add(row.request_id);
  }
  return found;
}

const claimKey = (requestId: string) => `ingest:claim:${requestId}`;
const CLAIM_CHUNK = 1000;

/** Claims each request_id for `ttlSeconds`; returns which claims were new (false = already claimed). */
export async function claimRequestIds(
  redis: Redis,
  requestIds: readonly string[],
  batchId: string,
  ttlSeconds: number,
): Promise<boolean[]> {
  const claimed: boolean[] = [];
  // Pipelines of CLAIM_CHUNK commands: building and writing one holds the loop (100k at once: ~100 ms;
  // 5,000: 80–120 ms on a loaded machine; 1,000: a few ms), and the loop is free while Redis answers.
  for (let i = 0; i < requestIds.length; i += CLAIM_CHUNK) {
    const pipeline = redis.pipeline();
    for (const id of requestIds.slice(i, i + CLAIM_CHUNK)) pipeline.set(claimKey(id), batchId, 'EX', ttlSeconds, 'NX');
    for (const [err, value] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      claimed.push(value === 'OK');
    }
  }
  return claimed;
}

/** Gives claims back when their batch could not be queued, so the caller can simply retry. */
export async function releaseClaims(redis: Redis, requestIds: readonly string[]): Promise<void> {
  if (requestIds.length) await redis.del(...requestIds.map(claimKey));
}
