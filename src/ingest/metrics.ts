// Prometheus view of the ingest pipeline. Like the budget counters, these are not registered anywhere by
// default: whoever owns /metrics registers `app.ingestMetrics` (every value is read at scrape time).
import { Gauge, type Metric } from 'prom-client';
import type { DeadLetterStore } from './deadLetters.js';
import type { SpendProducer } from './producer.js';
import type { SpendWorker } from './worker.js';

export function createIngestMetrics(
  producer: SpendProducer,
  deadLetters: DeadLetterStore,
  worker: SpendWorker | null,
): Metric[] {
  const status = () => worker?.status;
  return [
    new Gauge({
      name: 'spendhouse_ingest_clickhouse_outage',
      help: '1 while the ingest worker is waiting out a ClickHouse outage',
      registers: [],
      collect() {
        this.set(status()?.clickhouse_outage ? 1 : 0);
      },
    }),
    new Gauge({
      name: 'spendhouse_ingest_records_inserted',
      help: 'Records this worker process inserted into spend_logs since it started',
      registers: [],
      collect() {
        this.set(status()?.records_inserted ?? 0);
      },
    }),
    new Gauge({
      name: 'spendhouse_ingest_duplicates_skipped',
      help: 'Records this worker process skipped because spend_logs already held their request_id',
      registers: [],
      collect() {
        this.set(status()?.duplicates_skipped ?? 0);
      },
    }),
    new Gauge({
      name: 'spendhouse_ingest_insert_failures',
      help: 'Insert attempts into ClickHouse that failed (and are retried) since this worker process started',
      registers: [],
      collect() {
        this.set(status()?.insert_failures ?? 0);
      },
    }),
    new Gauge({
      name: 'spendhouse_ingest_dead_letters',
      help: 'Records waiting in the dead-letter queue',
      registers: [],
      async collect() {
        this.set(await deadLetters.count());
      },
    }),
    new Gauge({
      name: 'spendhouse_ingest_queue_jobs',
      help: 'Spend batches in the queue by state',
      labelNames: ['state'],
      registers: [],
      async collect() {
        const counts = await producer.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    }),
  ];
}
