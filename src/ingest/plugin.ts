// The ingest pipeline as a fastify plugin: the spend journal and its mover (`app.spendSink`) and the queue
// producer (every role), the worker and the retention job (roles `worker` and `all`), the ingest/admin routes
// and an `ingest` readiness check that reports a ClickHouse outage while the worker waits it out.
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Metric } from 'prom-client';
import { Warehouse } from '../clickhouse/warehouse.js';
import { clusterClientSettings } from '../cluster/shardingKeys.js';
import type { AppConfig } from '../config/load.js';
import type { SpendSink } from '../spendSink.js';
import { DeadLetterStore } from './deadLetters.js';
import { createIngestMetrics } from './metrics.js';
import { SpendProducer } from './producer.js';
import { startRetentionSchedule } from './retention.js';
import ingestRoutes from './routes.js';
import { JournalMover, JournalSink, SpendJournal } from './spendJournal.js';
import { SpendWorker } from './worker.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where finished SpendRecords go (the spend journal, or a sink a test passed in). */
    spendSink: SpendSink;
    /** The Redis list proxied calls' records wait in until a mover queues them (status: its length). */
    spendJournal: SpendJournal;
    /** The queue producer itself: the ingest API and dead-letter replay enqueue whole batches with it. */
    spendProducer: SpendProducer;
    deadLetters: DeadLetterStore;
    /** The in-process worker, when this role runs one. */
    spendWorker: SpendWorker | null;
    /** Prometheus gauges of the pipeline, for the /metrics owner to register. */
    ingestMetrics: Metric[];
  }
}

/** Worker settings a test (or an embedding program) may override. */
export interface IngestWorkerOverrides {
  /** Insert through another URL (tests: a TCP proxy they can stop). */
  clickhouseUrl?: string;
  maxRetryDelayMs?: number;
  lockDurationMs?: number;
  batchLockMs?: number;
}

export interface IngestPluginOptions {
  config: AppConfig;
  sink?: SpendSink;
  /** Run the worker in this process (optionally with overrides); defaults to the role (`worker`, `all`). */
  worker?: boolean | IngestWorkerOverrides;
}

/** A ClickHouse client for the worker's inserts (a slow insert fails and is retried after 30 s). */
export const INSERT_TIMEOUT_MS = 30_000;

/** How long a closing process keeps moving the journal (what is left waits for any other process). */
const JOURNAL_CLOSE_MS = 5_000;

export function createInsertWarehouse(config: AppConfig['clickhouse'], url = config.url): Warehouse {
  const client = createClient({
    url,
    username: config.username,
    password: config.password,
    database: config.database,
    request_timeout: INSERT_TIMEOUT_MS,
    max_open_connections: 10,
    clickhouse_settings: clusterClientSettings(config.cluster),
    // Failed inserts are expected during outages and poison isolation; the worker reports them itself.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return new Warehouse(client, config.database, config.cluster);
}

async function ingestPlugin(app: FastifyInstance, opts: IngestPluginOptions): Promise<void> {
  const { config } = opts;
  const settings = config.ingest;
  const deadLetters = new DeadLetterStore(app.redis);
  const producer = new SpendProducer(config.redis, deadLetters, {
    maxBatchRecords: settings.batchMaxRecords,
    maxBatchDelayMs: settings.batchMaxMs,
    onError: (err, attempt) => app.log.warn({ err: err.message, attempt }, 'spend batch not queued yet; retrying'),
  });
  const journal = new SpendJournal(app.redis, deadLetters);
  // Every process with a producer moves the shared journal (one at a time, under the journal's lock).
  const mover = new JournalMover(journal, producer.queue, {
    maxBatchRecords: settings.batchMaxRecords,
    intervalMs: settings.batchMaxMs,
    onError: (err) => app.log.warn({ err: err.message }, 'spend journal not moved yet; retrying'),
  });
  mover.start();
  const journalSink = new JournalSink(journal, mover, producer);
  app.decorate('spendProducer', producer);
  app.decorate('spendJournal', journal);
  app.decorate('spendSink', opts.sink ?? journalSink);
  app.decorate('deadLetters', deadLetters);

  const runWorker = opts.worker ?? config.role !== 'proxy';
  const overrides = typeof opts.worker === 'object' ? opts.worker : {};
  let worker: SpendWorker | null = null;
  let insertWarehouse: Warehouse | null = null;
  let stopRetention: (() => void) | null = null;
  if (runWorker) {
    insertWarehouse = createInsertWarehouse(config.clickhouse, overrides.clickhouseUrl);
    worker = new SpendWorker(
      { redisConfig: config.redis, redis: app.redis, warehouse: insertWarehouse, deadLetters, log: app.log },
      {
        concurrency: settings.workerConcurrency,
        insertIntervalMs: settings.insertIntervalMs,
        maxRetryDelayMs: overrides.maxRetryDelayMs ?? settings.retryMaxDelayMs,
        lockDurationMs: overrides.lockDurationMs ?? 30_000,
        batchLockMs: overrides.batchLockMs ?? 30_000,
      },
    );
    worker.start();
    stopRetention = startRetentionSchedule(app.warehouse, app.redis, settings, app.log);
  }
  app.decorate('spendWorker', worker);
  app.decorate('ingestMetrics', createIngestMetrics(producer, deadLetters, worker));

  app.addReadinessCheck('ingest', async () => {
    const outage = worker?.status.clickhouse_outage;
    if (outage) return { ok: false, detail: `ClickHouse unavailable since ${outage.since}: ${outage.last_error}` };
    return { ok: true };
  });
  await app.register(ingestRoutes, { config });

  app.addHook('onClose', async () => {
    stopRetention?.();
    // Hand every buffered record to Redis and move the journal to the queue (bounded), then let the worker
    // finish the batch in hand.
    if (opts.sink) await opts.sink.flush();
    const deadline = Date.now() + JOURNAL_CLOSE_MS;
    await journalSink.flush(deadline);
    await mover.close(deadline);
    await producer.close();
    await worker?.close();
    await insertWarehouse?.client.close();
  });
}

export default fp(ingestPlugin, { name: 'ingest', dependencies: ['clickhouse', 'redis', 'health', 'auth'] });
