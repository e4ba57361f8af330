// /metrics under `serve --workers N`: each process keeps its own prom-client registry, and a scrape lands
// on whichever process takes the connection, so alone it would see that process's counters only. The
// process that is scraped asks the primary over cluster IPC; the primary asks every ready process for
// its registry as JSON and merges them with prom-client's AggregatorRegistry.aggregate (counters and
// histograms summed; gauges by each metric's `aggregator`). If the primary does not answer in time, the
// scrape is answered from the local registry and says so (header and a comment line): never a hang.
// The primary also names one process to refresh the budget gauges (budgetGauges.ts), so N processes do
// not re-read every budget N times per interval; if that process dies, another is named.
import cluster, { type Worker } from 'node:cluster';
import type { Aggregator, Registry } from 'prom-client';

/** Set by the primary in each forked process's environment: the primary answers the messages below. */
export const CLUSTER_METRICS_ENV = 'SPENDHOUSE_CLUSTER_METRICS';
/** How long the primary waits for every process's registry (longer than a dependency probe's 2 s). */
export const COLLECT_TIMEOUT_MS = 4000;
/** How long a scraped process waits for the primary before answering with its own registry. */
export const AGGREGATE_TIMEOUT_MS = 6000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Gauges defined outside src/metrics whose value is the same shared state read by every process (Redis
 * queue, ClickHouse outage, archive status): summing them would multiply by N. Every other metric keeps
 * its own aggregator (prom-client's default `sum`; metrics defined in src/metrics set theirs).
 */
const AGGREGATOR_OF: Readonly<Record<string, Aggregator>> = {
  spendhouse_ingest_clickhouse_outage: 'max',
  spendhouse_ingest_dead_letters: 'max',
  spendhouse_ingest_queue_jobs: 'max',
  spendhouse_archive_failing: 'max',
  spendhouse_archive_consecutive_failures: 'max',
  spendhouse_archive_windows_pending: 'max',
  spendhouse_archive_last_success_seconds: 'max',
  // A per-process limit, the same in every process: the sum would be a limit nobody has.
  process_max_fds: 'first',
};

type ToPrimary =
  | { type: 'spendhouse:metrics:ready' }
  | { type: 'spendhouse:metrics:closing' }
  | { type: 'spendhouse:metrics:scrape'; id: number }
  | { type: 'spendhouse:metrics:collected'; id: number; metrics?: MetricsJson; error?: string };
type ToProcess =
  | { type: 'spendhouse:metrics:collect'; id: number }
  | { type: 'spendhouse:metrics:aggregate'; id: number; text?: string; answered: number; asked: number; error?: string }
  | { type: 'spendhouse:metrics:refresh-budgets' };

const isMessage = <T extends { type: string }>(message: unknown): message is T =>
  typeof message === 'object' &&
  message !== null &&
  typeof (message as { type?: unknown }).type === 'string' &&
  (message as { type: string }).type.startsWith('spendhouse:metrics:');

/** The metrics as JSON with the cluster aggregator of each (the table above wins). */
export async function metricsForAggregation(registry: Registry): Promise<MetricsJson> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.map((m) => ({ ...m, aggregator: AGGREGATOR_OF[m.name] ?? m.aggregator }));
}

/** Merges processes' registries as one scrape (prom-client loaded on first use: the primary stays small). */
export async function aggregateText(perProcess: MetricsJson[]): Promise<string> {
  const { AggregatorRegistry } = await import('prom-client');
  return AggregatorRegistry.aggregate(perProcess).metrics();
}

interface Collection {
  requester: Worker;
  /** The requester's id for its scrape (the primary numbers collections itself). */
  scrapeId: number;
  waiting: Set<Worker>;
  asked: number;
  responses: MetricsJson[];
  timer: NodeJS.Timeout;
}

/** Primary side: answers scrapes from the processes and names the budget-gauge refresher. */
export function answerClusterMetrics(log: (line: string) => void): void {
  const ready = new Set<Worker>();
  const collections = new Map<number, Collection>();
  let refresher: Worker | null = null;
  let nextId = 0;

  const nameRefresher = () => {
    const next = [...ready].find((w) => w.isConnected());
    if (refresher || !next) return;
    refresher = next;
    refresher.send({ type: 'spendhouse:metrics:refresh-budgets' } satisfies ToProcess);
  };
  const finish = (id: number) => {
    const c = collections.get(id);
    if (!c) return;
    collections.delete(id);
    clearTimeout(c.timer);
    const base = { type: 'spendhouse:metrics:aggregate', id: c.scrapeId, answered: c.responses.length, asked: c.asked };
    const reply = (message: ToProcess) => {
      if (c.requester.isConnected()) c.requester.send(message);
    };
    aggregateText(c.responses).then(
      (text) => reply({ ...base, type: 'spendhouse:metrics:aggregate', text }),
      (err: Error) => reply({ ...base, type: 'spendhouse:metrics:aggregate', error: err.message }),
    );
  };
  const settle = (id: number, c: Collection, worker: Worker) => {
    c.waiting.delete(worker);
    if (c.waiting.size === 0) finish(id);
  };
  const collect = (requester: Worker, scrapeId: number) => {
    const id = nextId++;
    const asked = [...ready].filter((w) => w.isConnected());
    const timer = setTimeout(() => {
      log(`/metrics: ${collections.get(id)?.waiting.size ?? 0} server process(es) did not answer in time`);
      finish(id);
    }, COLLECT_TIMEOUT_MS);
    collections.set(id, { requester, scrapeId, waiting: new Set(asked), asked: asked.length, responses: [], timer });
    for (const w of asked) w.send({ type: 'spendhouse:metrics:collect', id } satisfies ToProcess);
    if (asked.length === 0) finish(id);
  };

  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<ToPrimary>(message)) return;
    if (message.type === 'spendhouse:metrics:ready') {
      ready.add(worker);
      nameRefresher();
    } else if (message.type === 'spendhouse:metrics:closing') {
      // Shutting down (its app is closing): not asked again, and no scrape waits for it.
      gone(worker);
    } else if (message.type === 'spendhouse:metrics:scrape') {
      collect(worker, message.id);
    } else if (message.type === 'spendhouse:metrics:collected') {
      const c = collections.get(message.id);
      if (!c?.waiting.has(worker)) return;
      if (message.metrics) c.responses.push(message.metrics);
      settle(message.id, c, worker);
    }
  });
  const gone = (worker: Worker) => {
    ready.delete(worker);
    for (const [id, c] of collections) if (c.waiting.has(worker)) settle(id, c, worker);
    if (refresher === worker) {
      refresher = null;
      nameRefresher();
    }
  };
  cluster.on('exit', gone);
}

export interface Scrape {
  text: string;
  /** `cluster` when merged over the processes, else `process` (this one's registry only). */
  scope: 'cluster' | 'process';
  /** Processes merged / asked (`1/1` for a lone process). */
  processes: string;
}

/** Process side, present only in a process forked by `serve --workers N` (N > 1). */
export interface ClusterLink {
  /** Tells the primary this process answers collections (call once the app is ready). */
  announce(): void;
  /** The cluster's metrics via the primary, or this registry's with a comment saying why. */
  scrape(): Promise<Scrape>;
  /** Runs `start` when the primary names this process the budget-gauge refresher. */
  onRefreshBudgets(start: () => void): void;
  close(): void;
}

export async function localScrape(registry: Registry): Promise<Scrape> {
  return { text: await registry.metrics(), scope: 'process', processes: '1/1' };
}

export function clusterLink(registry: Registry): ClusterLink | null {
  if (!cluster.isWorker || process.env[CLUSTER_METRICS_ENV] !== '1' || !process.send) return null;
  // Sending on a closed channel (the primary died) emits an uncaught 'error': such a message has no reader.
  const send = (message: ToPrimary) => {
    if (process.connected) process.send?.(message);
  };
  const waiting = new Map<number, (message: Extract<ToProcess, { type: 'spendhouse:metrics:aggregate' }>) => void>();
  let refreshBudgets: (() => void) | null = null;
  let named = false;
  let nextId = 0;

  const onMessage = (message: unknown) => {
    if (!isMessage<ToProcess>(message)) return;
    if (message.type === 'spendhouse:metrics:collect') {
      metricsForAggregation(registry).then(
        (metrics) => send({ type: 'spendhouse:metrics:collected', id: message.id, metrics }),
        (err: Error) => send({ type: 'spendhouse:metrics:collected', id: message.id, error: err.message }),
      );
    } else if (message.type === 'spendhouse:metrics:aggregate') {
      waiting.get(message.id)?.(message);
    } else if (message.type === 'spendhouse:metrics:refresh-budgets') {
      named = true;
      refreshBudgets?.();
    }
  };
  process.on('message', onMessage);

  const fallback = async (why: string): Promise<Scrape> => {
    const local = await localScrape(registry);
    return { ...local, text: `# spendhouse: metrics of process ${process.pid} only: ${why}\n${local.text}` };
  };

  return {
    announce() {
      send({ type: 'spendhouse:metrics:ready' } satisfies ToPrimary);
    },
    scrape() {
      const id = nextId++;
      return new Promise<Scrape>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(fallback(`the primary did not answer in ${AGGREGATE_TIMEOUT_MS / 1000} s`));
        }, AGGREGATE_TIMEOUT_MS);
        waiting.set(id, (message) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (message.text === undefined) resolve(fallback(`aggregation failed: ${message.error ?? 'unknown'}`));
          else {
            const processes = `${message.answered}/${message.asked}`;
            // A process that did not answer in time is missing from the sums: say so where a reader looks.
            const note =
              message.answered < message.asked
                ? `# spendhouse: ${processes} server processes answered in time; the sums lack the others\n`
                : '';
            resolve({ text: note + message.text, scope: 'cluster', processes });
          }
        });
        if (!process.connected) {
          waiting.delete(id);
          clearTimeout(timer);
          resolve(fallback('the primary is gone'));
          return;
        }
        send({ type: 'spendhouse:metrics:scrape', id });
      });
    },
    onRefreshBudgets(start) {
      refreshBudgets = start;
      if (named) start();
    },
    close() {
      // Pending scrapes still end: each has its fallback timer.
      process.off('message', onMessage);
      send({ type: 'spendhouse:metrics:closing' });
    },
  };
}
