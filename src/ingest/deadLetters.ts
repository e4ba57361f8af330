// The dead-letter queue: records that can never be inserted as they are (they fail the contract, or
// ClickHouse refuses them), each kept with the reason, listable by admins (GET /ingest/v1/dead-letters) and
// replayable after a fix (`npm run dlq -- replay`). Stored in Redis beside the queue: a sorted set (by
// time) of entry ids plus a hash of entries, so listing is paged and replay removes exactly what it queued.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { SpendRecord } from '../spendRecord.js';
import type { BatchOrigin } from './queue.js';
import { insertableRecordSchema } from './rows.js';

const INDEX_KEY = 'ingest:dlq:index';
const ENTRIES_KEY = 'ingest:dlq:entries';

export const deadLetterSchema = z.object({
  id: z.string(),
  failed_at: z.string(),
  /** `validation`: the record breaks the SpendRecord contract; `clickhouse`: the table refused it. */
  stage: z.enum(['validation', 'clickhouse']),
  reason: z.string(),
  batch_id: z.string(),
  origin: z.string(),
  request_id: z.string().nullable(),
  record: z.unknown(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** `id`: give one when the same letter may be added again (a retried job): it is then kept once. */
export type NewDeadLetter = Pick<DeadLetter, 'stage' | 'reason' | 'record'> & { id?: string };

function requestIdOf(record: unknown): string | null {
  if (record && typeof record === 'object' && 'request_id' in record) {
    const id = (record as { request_id: unknown }).request_id;
    return typeof id === 'string' ? id : null;
  }
  return null;
}

export class DeadLetterStore {
  constructor(private readonly redis: Redis) {}

  async add(batchId: string, origin: BatchOrigin, letters: readonly NewDeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = Date.now();
    const multi = this.redis.multi();
    for (const letter of letters) {
      const entry: DeadLetter = {
        id: letter.id ?? randomUUID(),
        failed_at: new Date(now).toISOString(),
        stage: letter.stage,
        reason: letter.reason.slice(0, 2000),
        batch_id: batchId,
        origin,
        request_id: requestIdOf(letter.record),
        record: letter.record,
      };
      multi.zadd(INDEX_KEY, now, entry.id);
      multi.hset(ENTRIES_KEY, entry.id, JSON.stringify(entry));
    }
    await multi.exec();
  }

  async count(): Promise<number> {
    return this.redis.zcard(INDEX_KEY);
  }

  /** Oldest first. */
  async list(offset: number, limit: number): Promise<DeadLetter[]> {
    const ids = await this.redis.zrange(INDEX_KEY, String(offset), String(offset + limit - 1));
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(ENTRIES_KEY, ...ids);
    return values.flatMap((v) => (v ? [deadLetterSchema.parse(JSON.parse(v))] : []));
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis
      .multi()
      .zrem(INDEX_KEY, ...ids)
      .hdel(ENTRIES_KEY, ...ids)
      .exec();
  }

  /**
   * Queues every dead letter that now passes validation as a `replay` batch (the worker checks replay
   * batches against ClickHouse, so replaying twice never counts twice) and removes it from the DLQ.
   * Entries that still fail validation stay, with the new reason returned.
   */
  async replay(
    enqueue: (records: SpendRecord[], batchId: string) => Promise<unknown>,
    pageSize = 1000,
  ): Promise<{ replayed: number; still_invalid: number }> {
    let replayed = 0;
    let offset = 0;
    for (;;) {
      const page = await this.list(offset, pageSize);
      if (page.length === 0) break;
      const records: SpendRecord[] = [];
      const done: string[] = [];
      for (const entry of page) {
        const parsed = insertableRecordSchema.safeParse(entry.record);
        if (!parsed.success) continue;
        records.push(parsed.data);
        done.push(entry.id);
      }
      // A batch id derived from the entries: re-running a replay that died after enqueue reuses it.
      if (records.length) await enqueue(records, `replay-${done[0]}-${done.length}`);
      await this.remove(done);
      replayed += done.length;
      offset += page.length - done.length;
    }
    return { replayed, still_invalid: offset };
  }
}
