// Dependency health and ingest timing, read at scrape time: ClickHouse, Redis and the archive store are
// probed (each with a short timeout), and the age of the oldest spend batch still in the queue is the
// ingest lag an operator alerts on (0 when the queue is empty).
import { Gauge, type Metric } from 'prom-client';
import type { SpendProducer } from '../ingest/producer.js';

const PROBE_TIMEOUT_MS = 2000;

export type HealthProbe = () => Promise<boolean>;

async function probe(check: HealthProbe): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check(), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function dependencyHealthGauge(probes: Record<string, HealthProbe>): Metric {
  return new Gauge({
    name: 'spendhouse_dependency_up',
    help: '1 when the dependency answered a probe at scrape time (clickhouse, redis, archive_store)',
    labelNames: ['dependency'],
    registers: [],
    // Every process probes the same services: up if any process reached it (a sum would count processes).
    aggregator: 'max',
    async collect() {
      const names = Object.keys(probes);
      const results = await Promise.all(names.map((name) => probe(probes[name] as HealthProbe)));
      names.forEach((dependency, i) => {
        this.set({ dependency }, results[i] ? 1 : 0);
      });
    },
  });
}

const QUEUED_STATES = ['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'] as const;

/** Age in seconds of the oldest batch not yet written (0 when none): the ingest lag. */
export async function oldestQueuedAgeSeconds(producer: SpendProducer, nowMs = Date.now()): Promise<number> {
  let oldest = Number.POSITIVE_INFINITY;
  for (const state of QUEUED_STATES) {
    const [job] = await producer.queue.getJobs([state], 0, 0, true);
    if (job?.timestamp && job.timestamp < oldest) oldest = job.timestamp;
  }
  return Number.isFinite(oldest) ? Math.max(0, (nowMs - oldest) / 1000) : 0;
}

export function ingestLagGauge(producer: SpendProducer): Metric {
  return new Gauge({
    name: 'spendhouse_ingest_oldest_record_age_seconds',
    help: 'Age of the oldest spend batch still queued for ClickHouse (the ingest lag; 0 when caught up)',
    registers: [],
    // The same shared queue read by every process, at slightly different moments: the oldest age.
    aggregator: 'max',
    async collect() {
      this.set(await oldestQueuedAgeSeconds(producer));
    },
  });
}
