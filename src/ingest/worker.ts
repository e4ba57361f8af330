// The ingest worker (role `worker` or `all`): takes batches off the spend queue and writes them into
// ClickHouse exactly once (see docs/ingest.md, "Exactly once"), sending refused records to the dead-letter
// queue. A ClickHouse outage holds the batch in hand and waits (capped backoff, forever), reported by
// `status` (readiness check, GET /ingest/v1/status) and cleared by the next successful insert.
import { randomUUID } from 'node:crypto';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { AppConfig } from '../config/load.js';
import { InsertCoalescer } from './coalescer.js';
import type { DeadLetterStore, NewDeadLetter } from './deadLetters.js';
import { batchQueries, beginBatchAttempt, endBatchAttempt, renewBatchAttempt } from './dedup.js';
import { bullConnection, bullPrefix, retryDelayMs, SPEND_QUEUE_NAME, spendBatchSchema } from './queue.js';
import { BatchEncoder, EncodedRows, insertableRecordSchema } from './rows.js';
import { SpendWriter } from './writer.js';

/** Rows per shared insert: ClickHouse 18.16 takes ~89k rows/s from one client in 50k-row inserts. */
const INSERT_MAX_ROWS = 50_000;
/** Two inserts in flight: one is parsed/written by ClickHouse while the next is serialised here. */
const INSERTS_IN_FLIGHT = 2;

export interface SpendWorkerOptions {
  concurrency: number;
  maxRetryDelayMs: number;
  /** Least time between the starts of two inserts (group commit across time; see coalescer.ts). */
  insertIntervalMs?: number;
  /** BullMQ job lock; a job whose worker died is handed out again this long after its last renewal. */
  lockDurationMs: number;
  /** Our batch lock, renewed every third of it while the batch is in hand; a dead worker's expires. */
  batchLockMs: number;
}

export interface IngestWorkerStatus {
  running: boolean;
  clickhouse_outage: { since: string; last_error: string } | null;
  batches_done: number;
  records_inserted: number;
  duplicates_skipped: number;
  dead_lettered: number;
  /** Insert attempts that failed and will be retried (ClickHouse down, slow or erroring). */
  insert_failures: number;
  last_insert_at: string | null;
}

export interface SpendWorkerDeps {
  redisConfig: AppConfig['redis'];
  /** The app's prefixed Redis client (batch markers). */
  redis: Redis;
  /** A ClickHouse client used only for inserts (its own timeout; tests point it through a proxy). */
  warehouse: Warehouse;
  deadLetters: DeadLetterStore;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export class SpendWorker {
  private worker: Worker | null = null;
  private closing = false;
  private readonly writer: SpendWriter;
  readonly status: IngestWorkerStatus = {
    running: false,
    clickhouse_outage: null,
    batches_done: 0,
    records_inserted: 0,
    duplicates_skipped: 0,
    dead_lettered: 0,
    insert_failures: 0,
    last_insert_at: null,
  };

  constructor(
    private readonly deps: SpendWorkerDeps,
    private readonly options: SpendWorkerOptions,
  ) {
    this.writer = new SpendWriter(
      deps.warehouse,
      new InsertCoalescer(
        deps.warehouse,
        deps.redis,
        INSERT_MAX_ROWS,
        INSERTS_IN_FLIGHT,
        options.insertIntervalMs ?? 0,
      ),
      {
        onOutage: (err) => this.reportOutage(err),
        onRecovered: () => this.reportRecovered(),
        isClosing: () => this.closing,
      },
      options.maxRetryDelayMs,
    );
  }

  start(): void {
    const { maxRetryDelayMs } = this.options;
    this.worker = new Worker(SPEND_QUEUE_NAME, (job) => this.process(job), {
      connection: bullConnection(this.deps.redisConfig),
      prefix: bullPrefix(this.deps.redisConfig),
      concurrency: this.options.concurrency,
      lockDuration: this.options.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(this.options.lockDurationMs / 2)),
      // A batch whose worker died is retried however often that happens; it is never failed for stalling.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, maxRetryDelayMs) },
    });
    this.worker.on('error', (err) => this.deps.log.warn({ err: err.message }, 'ingest worker error'));
    this.worker.on('failed', (job, err) =>
      this.deps.log.warn(
        { batch: job?.id, attempts: job?.attemptsMade, err: err.message },
        'spend batch will be retried',
      ),
    );
    this.status.running = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.close();
    this.status.running = false;
  }

  private reportOutage(err: Error): void {
    this.status.insert_failures += 1;
    if (!this.status.clickhouse_outage) {
      this.status.clickhouse_outage = { since: new Date().toISOString(), last_error: err.message };
      this.deps.log.warn({ err: err.message }, 'ClickHouse unavailable: holding spend batches and retrying');
    } else {
      this.status.clickhouse_outage.last_error = err.message;
    }
  }

  private reportRecovered(): void {
    if (!this.status.clickhouse_outage) return;
    this.deps.log.info({ since: this.status.clickhouse_outage.since }, 'ClickHouse is back: spend ingest resumed');
    this.status.clickhouse_outage = null;
  }

  /**
   * A job queued by a version before the encoded payload (`records: [SpendRecord…]`, no `rows`) is encoded
   * here, so a rolling upgrade — workers first, then proxies — loses nothing; a record the table would
   * refuse becomes a replayable dead letter of its own (null: nothing left to insert). Anything else is
   * returned as it is.
   */
  private async upgradeLegacyBatch(job: Pick<Job, 'data' | 'id'>): Promise<unknown> {
    const data = job.data as { records?: unknown; rows?: unknown; origin?: unknown } | null;
    if (!data || typeof data !== 'object' || 'rows' in data || !Array.isArray(data.records)) return job.data;
    const encoder = new BatchEncoder();
    const letters: NewDeadLetter[] = [];
    // Ids from the job and the record (its place, or its request_id once valid): a retried job adds each once.
    const letterId = (key: number | string) => `${String(job.id ?? 'unknown')}:legacy:${key}`;
    data.records.forEach((raw, index) => {
      const parsed = insertableRecordSchema.safeParse(raw);
      if (parsed.success) encoder.add(parsed.data);
      else {
        const reason = parsed.error.issues[0]?.message ?? 'invalid';
        letters.push({ id: letterId(index), stage: 'validation', reason, record: raw });
      }
    });
    for (const r of encoder.refused) {
      letters.push({
        id: letterId(r.record.request_id),
        stage: 'validation',
        reason: r.reason,
        record: r.record,
      });
    }
    const origin = data.origin === 'proxy' || data.origin === 'replay' ? data.origin : 'ingest';
    await this.deps.deadLetters.add(String(job.id ?? 'unknown'), origin, letters);
    this.status.dead_lettered += letters.length;
    if (encoder.rowCount === 0) return null;
    const { records: _records, ...rest } = data;
    return { ...rest, rows: encoder.rows(), payloads: encoder.payloads() };
  }

  /** One job: BullMQ calls it for each batch (tests call it directly to replay a batch). */
  async process(job: Pick<Job, 'data' | 'id'>): Promise<void> {
    const { deadLetters, redis } = this.deps;
    const data = await this.upgradeLegacyBatch(job);
    if (data === null) return;
    const envelope = spendBatchSchema.safeParse(data);
    if (!envelope.success) {
      const reason = `batch envelope: ${envelope.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      await deadLetters.add(String(job.id ?? 'unknown'), 'ingest', [{ stage: 'validation', reason, record: job.data }]);
      this.status.dead_lettered += 1;
      return;
    }
    const batch = envelope.data;

    const token = randomUUID();
    const attempt = await beginBatchAttempt(redis, batch.batch_id, token, this.options.batchLockMs);
    if (attempt.kind === 'locked') throw new Error(`batch ${batch.batch_id} is held by another worker`);
    // Renewed while we work (an outage may keep a batch in hand for hours); a dead worker's lock expires.
    const lockTtl = this.options.batchLockMs;
    const renewal = setInterval(
      () => void renewBatchAttempt(redis, batch.batch_id, token, lockTtl).catch(() => {}),
      Math.max(100, Math.floor(lockTtl / 3)),
    );
    try {
      // The producer checked every row against its columns and made request_ids unique within the batch.
      let rows = EncodedRows.fromText(batch.rows);
      // Fresh proxy ids cannot be in ClickHouse on a batch's very first attempt; anything else may be.
      // An earlier attempt's inserts may still be running on the server: wait for them, then look.
      if (!(batch.origin === 'proxy' && attempt.firstAttempt)) {
        await this.writer.waitForQueries(await batchQueries(redis, batch.batch_id));
        const before = rows.length;
        rows = await this.writer.withoutExisting(rows);
        this.status.duplicates_skipped += before - rows.length;
      }
      const refused = await this.writer.write(batch.batch_id, rows, batch.payloads);
      const letters: NewDeadLetter[] = refused.map((r) => ({
        stage: 'clickhouse',
        reason: r.reason,
        record: r.record,
      }));
      await deadLetters.add(batch.batch_id, batch.origin, letters);
      this.status.records_inserted += rows.length - refused.length;
      this.status.dead_lettered += letters.length;
      this.status.batches_done += 1;
      this.status.last_insert_at = new Date().toISOString();
    } finally {
      clearInterval(renewal);
      await endBatchAttempt(redis, batch.batch_id, token);
    }
  }
}
