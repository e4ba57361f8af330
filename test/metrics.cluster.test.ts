// How /metrics merges the registries of `serve --workers N` processes (src/metrics/clusterMetrics.ts):
// two registries built as the plugin builds them, merged as the primary merges them. Counters and
// histograms add up; gauges of one shared state (dependency health, ingest queue) are not multiplied by
// the number of processes; budget gauges come from the one process that refreshes them. Then the IPC
// protocol with real cluster processes (this file, forked): a primary that does not answer (the scrape
// falls back to the local registry, saying so), one that does (merged), and the budget refresher named
// again when it dies. The whole CLI runs it in test/serve.workers.test.ts.
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { test } from 'node:test';
import { Counter, Gauge, type Histogram, Registry } from 'prom-client';
import type { BudgetWatch } from '../src/budgetWatch/budgetWatch.js';
import { createBudgetGauges } from '../src/metrics/budgetGauges.js';
import { createCallMetrics } from '../src/metrics/callMetrics.js';
import {
  AGGREGATE_TIMEOUT_MS,
  aggregateText,
  answerClusterMetrics,
  CLUSTER_METRICS_ENV,
  clusterLink,
  metricsForAggregation,
  type Scrape,
} from '../src/metrics/clusterMetrics.js';
import { dependencyHealthGauge } from '../src/metrics/systemMetrics.js';

/** One process's registry: call metrics with `calls` requests, a health probe, a shared-queue gauge. */
function processRegistry(calls: number, redisUp: boolean, queued: number): Registry {
  const registry = new Registry();
  const { metrics } = createCallMetrics([]);
  for (const metric of metrics) registry.registerMetric(metric);
  const [requests, , , overhead] = metrics as [Counter<string>, Counter<string>, Counter<string>, Histogram<string>];
  for (let i = 0; i < calls; i++) {
    requests.inc({ team: 't', model: 'm', provider: 'p', status_class: '2xx' });
    overhead.observe({ provider: 'p' }, 0.002);
  }
  registry.registerMetric(dependencyHealthGauge({ redis: async () => redisUp }));
  // Defined in src/ingest/metrics.ts (the same Redis queue read by every process): aggregated by name.
  const jobs = new Gauge({ name: 'spendhouse_ingest_queue_jobs', help: 'h', labelNames: ['state'], registers: [] });
  jobs.set({ state: 'waiting' }, queued);
  registry.registerMetric(jobs);
  return registry;
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('counters and histograms are summed; shared-state gauges are taken once (max), not summed', async () => {
  const a = processRegistry(3, true, 7);
  const b = processRegistry(4, true, 9);
  const c = processRegistry(0, false, 8);
  const text = await aggregateText(await Promise.all([a, b, c].map(metricsForAggregation)));
  assert.equal(
    sample(text, 'spendhouse_requests_total{team="t",model="m",provider="p",status_class="2xx"}'),
    7,
    'counter summed',
  );
  assert.equal(sample(text, 'spendhouse_proxy_overhead_seconds_count{provider="p"}'), 7, 'histogram count summed');
  assert.equal(sample(text, 'spendhouse_proxy_overhead_seconds_bucket{le="0.0025",provider="p"}'), 7, 'buckets');
  assert.equal(
    sample(text, 'spendhouse_dependency_up{dependency="redis"}'),
    1,
    '1 when any process reached it, never 2',
  );
  assert.equal(sample(text, 'spendhouse_ingest_queue_jobs{state="waiting"}'), 9, 'the queue once, not 24');
});

test('budget gauges are not summed: one process refreshes them, and two that did agree', async () => {
  // Only the gauges' JSON matters here: no refresh runs, so the watch is never read.
  const budgetRegistry = (maxNano: number | null) => {
    const gauges = createBudgetGauges({} as BudgetWatch);
    const registry = new Registry();
    for (const metric of gauges.metrics) registry.registerMetric(metric);
    if (maxNano !== null) (gauges.metrics[0] as Gauge<string>).set({ scope_type: 'team', scope: 'a' }, maxNano);
    return registry;
  };
  // The refresher, a process that refreshed before it handed over, one that never did.
  const json = await Promise.all(
    [budgetRegistry(5e9), budgetRegistry(5e9), budgetRegistry(null)].map(metricsForAggregation),
  );
  assert.equal(sample(await aggregateText(json), 'spendhouse_budget_max_nano{scope_type="team",scope="a"}'), 5e9);
});

// ---- the IPC protocol with real cluster processes -------------------------------------------------------

type FromForked = { test: 'ready' } | { test: 'refresher' } | { test: 'scraped'; scrape: Scrape };

/** A forked process: a registry counting CALLS requests, linked as a server process links its registry. */
function runForked(): void {
  const registry = new Registry();
  const requests = new Counter({ name: 'spendhouse_requests_total', help: 'h', registers: [registry] });
  requests.inc(Number(process.env.CALLS));
  const link = clusterLink(registry);
  if (!link) throw new Error('not linked');
  const tell = (message: FromForked) => process.send?.(message);
  link.onRefreshBudgets(() => tell({ test: 'refresher' }));
  process.on('message', (message: { test?: string }) => {
    if (message?.test === 'scrape') void link.scrape().then((scrape) => tell({ test: 'scraped', scrape }));
  });
  link.announce();
  tell({ test: 'ready' });
}

if (cluster.isWorker) runForked();
else {
  const forked: Worker[] = [];
  const fork = async (calls: number) => {
    cluster.setupPrimary({ exec: import.meta.filename, execArgv: ['--import', 'tsx'], silent: true });
    const worker = cluster.fork({ [CLUSTER_METRICS_ENV]: '1', CALLS: String(calls) });
    forked.push(worker);
    await next(worker, 'ready');
    return worker;
  };
  const next = <T extends FromForked['test']>(worker: Worker, what: T) =>
    new Promise<Extract<FromForked, { test: T }>>((resolve) => {
      const on = (message: FromForked) => {
        if (message.test !== what) return;
        worker.off('message', on);
        resolve(message as Extract<FromForked, { test: T }>);
      };
      worker.on('message', on);
    });
  const scrapeVia = async (worker: Worker) => {
    const answer = next(worker, 'scraped');
    worker.send({ test: 'scrape' });
    return (await answer).scrape;
  };
  const requestsIn = (text: string) => sample(text, 'spendhouse_requests_total');

  test('a primary that does not answer: the local registry, saying so, after the timeout', async () => {
    const worker = await fork(3);
    const startedAt = Date.now();
    const scrape = await scrapeVia(worker);
    assert.ok(Date.now() - startedAt >= AGGREGATE_TIMEOUT_MS - 50);
    assert.equal(scrape.scope, 'process');
    assert.match(scrape.text, new RegExp(`^# spendhouse: metrics of process ${worker.process.pid} only: the primary`));
    assert.equal(requestsIn(scrape.text), 3);
    worker.process.kill('SIGKILL');
    await once(worker, 'exit');
  });

  test('a primary that answers: every process merged; the budget refresher is named again when it dies', async () => {
    answerClusterMetrics(() => {});
    const a = await fork(3);
    const refresher = next(a, 'refresher');
    const b = await fork(4);
    await refresher;
    for (const via of [a, b]) {
      const scrape = await scrapeVia(via);
      assert.deepEqual({ scope: scrape.scope, processes: scrape.processes }, { scope: 'cluster', processes: '2/2' });
      assert.equal(requestsIn(scrape.text), 7);
    }
    const named = next(b, 'refresher');
    a.process.kill('SIGKILL');
    await named;
    const scrape = await scrapeVia(b);
    assert.deepEqual([scrape.processes, requestsIn(scrape.text)], ['1/1', 4]);
    for (const worker of forked) worker.process.kill('SIGKILL');
  });
}
