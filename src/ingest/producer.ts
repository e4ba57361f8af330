// The queue producer: the ingest API's and replay's batches (enqueue), and an in-memory SpendSink that
// micro-batches SpendRecords (the journal's fallback when Redis refuses an append) into
// BullMQ jobs. Each record is encoded into its ClickHouse row as it is submitted (BatchEncoder: column
// check, JSONEachRow line), so a job carries ready-to-send text; a record its columns cannot hold goes to
// the dead-letter queue instead. submit() never blocks a proxied call; flush() and close() hand everything
// buffered to the queue first, so a SIGTERM loses nothing. If Redis refuses an add, the batch is kept and
// retried (the same batch id, so a retried add that had in fact succeeded is recognised by the worker).
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/load.js';
import { retry } from '../retry.js';
import type { SpendRecord } from '../spendRecord.js';
import type { SpendSink } from '../spendSink.js';
import type { DeadLetterStore } from './deadLetters.js';
import { type BatchOrigin, SPEND_BATCH_JOB, SPEND_QUEUE_NAME, type SpendBatch, spendQueueOptions } from './queue.js';
import { BatchEncoder } from './rows.js';
import { TimeSlicer } from './timeSlice.js';

export interface ProducerOptions {
  /** Seal a batch at this many records… */
  maxBatchRecords: number;
  /** …or this long after its first record, whichever comes first. */
  maxBatchDelayMs: number;
  onError?: (err: Error, attempt: number) => void;
}

/** Adds to the queue are retried forever: 0.2 s, doubling, at most 5 s apart. */
const ADD_RETRY = { baseMs: 200, maxMs: 5_000 };

/** A job's payload from encoded records (refused ones are the caller's to dead-letter). */
export function spendBatch(encoder: BatchEncoder, origin: BatchOrigin, batchId: string): SpendBatch {
  return { batch_id: batchId, origin, created_at: Date.now(), rows: encoder.rows(), payloads: encoder.payloads() };
}

export class SpendProducer implements SpendSink {
  readonly queue: Queue;
  private buffer = new BatchEncoder();
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    redis: AppConfig['redis'],
    private readonly deadLetters: DeadLetterStore,
    private readonly options: ProducerOptions,
  ) {
    this.queue = new Queue(SPEND_QUEUE_NAME, spendQueueOptions(redis));
    // Connection errors surface through add() failures (and readiness); don't print every reconnect.
    this.queue.on('error', () => {});
  }

  submit(record: SpendRecord): void {
    if (this.closed) throw new Error('spend producer is closed');
    this.buffer.add(record);
    if (this.buffer.size >= this.options.maxBatchRecords) this.seal();
    else if (!this.timer) this.timer = setTimeout(() => this.seal(), this.options.maxBatchDelayMs);
  }

  /** Durable form of submit(): resolves once the record's batch is queued (the proxy uses the journal). */
  async record(record: SpendRecord): Promise<void> {
    this.submit(record);
    await this.flush();
  }

  /**
   * Enqueues one batch now and resolves once Redis holds it (used by the ingest API and replay). Encoding
   * thousands of records is time-sliced: an ingest request must not hold the event loop.
   */
  async enqueue(records: SpendRecord[], origin: BatchOrigin, batchId: string = randomUUID()): Promise<string> {
    const encoder = new BatchEncoder();
    const slicer = new TimeSlicer();
    for (const record of records) {
      encoder.add(record);
      await slicer.slice();
    }
    await this.add(encoder, origin, batchId);
    return batchId;
  }

  /** Dead-letters the refused records (once, even when the add is retried), then queues the rows. */
  private async add(encoder: BatchEncoder, origin: BatchOrigin, batchId: string): Promise<void> {
    if (encoder.refused.length) {
      const letters = encoder.refused.map((r) => ({
        stage: 'validation' as const,
        reason: r.reason,
        record: r.record,
      }));
      await this.deadLetters.add(batchId, origin, letters);
      encoder.refused.length = 0;
    }
    if (encoder.rowCount === 0) return;
    await this.queue.add(SPEND_BATCH_JOB, spendBatch(encoder, origin, batchId), { jobId: batchId });
  }

  async flush(): Promise<void> {
    this.seal();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** Graceful shutdown: everything buffered reaches Redis, then the connection closes. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.queue.close();
  }

  /** Records buffered or being added right now (status endpoint). */
  get pending(): number {
    return this.buffer.size + this.inFlight.size;
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.size === 0) return;
    const encoder = this.buffer;
    this.buffer = new BatchEncoder();
    const batchId = randomUUID();
    const task = this.addWithRetry(encoder, batchId).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async addWithRetry(encoder: BatchEncoder, batchId: string): Promise<void> {
    await retry(() => this.add(encoder, 'proxy', batchId), {
      ...ADD_RETRY,
      onRetry: (err, attempt) => this.options.onError?.(err, attempt),
    });
  }
}
