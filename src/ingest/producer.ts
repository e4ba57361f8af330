// The proxy's SpendSink in production: micro-batches SpendRecords (a size and a time threshold) into
// BullMQ jobs. submit() never blocks a proxied call; flush() and close() hand everything buffered to the
// queue first, so a SIGTERM loses nothing. If Redis refuses an add, the batch is kept and retried (the
// same batch id, so a retried add that had in fact succeeded is recognised by the worker).
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/load.js';
import type { SpendRecord } from '../spendRecord.js';
import { type BatchOrigin, SPEND_BATCH_JOB, SPEND_QUEUE_NAME, type SpendBatch, spendQueueOptions } from './queue.js';
import type { SpendSink } from './sink.js';

export interface ProducerOptions {
  /** Seal a batch at this many records… */
  maxBatchRecords: number;
  /** …or this long after its first record, whichever comes first. */
  maxBatchDelayMs: number;
  onError?: (err: Error, attempt: number) => void;
}

const ADD_RETRY_MAX_MS = 5_000;

export class SpendProducer implements SpendSink {
  readonly queue: Queue;
  private buffer: SpendRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    redis: AppConfig['redis'],
    private readonly options: ProducerOptions,
  ) {
    this.queue = new Queue(SPEND_QUEUE_NAME, spendQueueOptions(redis));
    // Connection errors surface through add() failures (and readiness); don't print every reconnect.
    this.queue.on('error', () => {});
  }

  submit(record: SpendRecord): void {
    if (this.closed) throw new Error('spend producer is closed');
    this.buffer.push(record);
    if (this.buffer.length >= this.options.maxBatchRecords) this.seal();
    else if (!this.timer) this.timer = setTimeout(() => this.seal(), this.options.maxBatchDelayMs);
  }

  /** Enqueues one batch now and resolves once Redis holds it (used by the ingest API and replay). */
  async enqueue(records: SpendRecord[], origin: BatchOrigin, batchId: string = randomUUID()): Promise<string> {
    const batch: SpendBatch = { batch_id: batchId, origin, created_at: Date.now(), records };
    await this.queue.add(SPEND_BATCH_JOB, batch, { jobId: batchId });
    return batchId;
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
    return this.buffer.length + this.inFlight.size;
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    const batchId = randomUUID();
    const task = this.addWithRetry(records, batchId).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async addWithRetry(records: SpendRecord[], batchId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.enqueue(records, 'proxy', batchId);
        return;
      } catch (err) {
        this.options.onError?.(err as Error, attempt);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, ADD_RETRY_MAX_MS)));
      }
    }
  }
}
