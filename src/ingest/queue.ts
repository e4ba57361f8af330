// The spend queue contract, in one place: queue name, the zod payload of a job (one micro-batch of
// SpendRecords, encoded once as ClickHouse rows), job options and the Redis connection/prefix BullMQ uses.
// Producer, worker, the ingest API and the dead-letter replay all go through this file, and the worker
// checks every payload with it.
import type { DefaultJobOptions, QueueOptions, RedisOptions } from 'bullmq';
import { z } from 'zod';
import type { AppConfig } from '../config/load.js';
import { bullKeyPrefix, bullRedisOptions } from '../redis/connection.js';
import { backoffDelay } from '../retry.js';

export const SPEND_QUEUE_NAME = 'spend-records';
/** BullMQ's job name (one kind of job on this queue). */
export const SPEND_BATCH_JOB = 'spend-batch';

/**
 * Where a batch came from. Proxy batches hold fresh UUIDv7 ids made by this system, so their first attempt
 * skips the ClickHouse duplicate check; ingest and replay batches carry caller ids and are always checked.
 */
export const batchOriginSchema = z.enum(['proxy', 'ingest', 'replay']);
export type BatchOrigin = z.infer<typeof batchOriginSchema>;

/**
 * A job's payload. The producer encodes each record once (BatchEncoder in rows.ts): checked against the
 * spend_logs columns (a record that does not fit is dead-lettered there, never queued), one JSONEachRow
 * line per record with unique request_ids and without `inserted_at` (stamped by the worker when it sends).
 * The worker sends this text to ClickHouse as is; a line the table still refuses is dead-lettered after
 * bisection. Text rather than objects: serialised once, and a string costs BullMQ and GC next to nothing.
 */
export const spendBatchSchema = z.object({
  batch_id: z.string().min(1).max(128),
  origin: batchOriginSchema,
  /** Epoch ms when the producer sealed the batch (lag metrics). */
  created_at: z.number().int().nonnegative(),
  /** spend_logs rows: one JSON object a line (`\n`-separated, no trailing newline). */
  rows: z.string().startsWith('{'),
  /** spend_payloads rows (prompts/responses) in the same form; '' when no record carries any. */
  payloads: z.string(),
});
export type SpendBatch = z.infer<typeof spendBatchSchema>;

/** Retry delay for a failed attempt: exponential from 500 ms, capped (a ClickHouse outage may last hours). */
export function retryDelayMs(attemptsMade: number, maxDelayMs: number): number {
  return backoffDelay(attemptsMade, { baseMs: 500, maxMs: maxDelayMs });
}

/** Effectively unlimited: a batch is never given up on; poison records leave through the dead-letter queue. */
export const UNLIMITED_ATTEMPTS = 1_000_000_000;

export const spendJobOptions: DefaultJobOptions = {
  attempts: UNLIMITED_ATTEMPTS,
  backoff: { type: 'capped-exponential' },
  // A batch is megabytes of JSON: drop it once inserted. Failed ones never happen (unlimited attempts) but
  // would be kept for inspection.
  removeOnComplete: true,
  removeOnFail: false,
};

/**
 * BullMQ connection options from the configured Redis URL (one server, Sentinel or Cluster; BullMQ needs
 * maxRetriesPerRequest: null). BullMQ builds and closes its own clients from them.
 */
export function bullConnection(redis: AppConfig['redis']): RedisOptions {
  return bullRedisOptions(redis.url);
}

/**
 * BullMQ ignores ioredis' keyPrefix, so it gets its own prefix under the app's key prefix: two deployments
 * (or two tests) on one Redis never share a queue. BullMQ appends `:<queue>:…` itself. On a Redis Cluster
 * the prefix is a hash tag (`{<key_prefix>bull}`), so each queue's keys share a slot as BullMQ requires.
 */
export function bullPrefix(redis: AppConfig['redis']): string {
  return bullKeyPrefix(redis.url, redis.keyPrefix);
}

export function spendQueueOptions(redis: AppConfig['redis']): QueueOptions {
  return { connection: bullConnection(redis), prefix: bullPrefix(redis), defaultJobOptions: spendJobOptions };
}
