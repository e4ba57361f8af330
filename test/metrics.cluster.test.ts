// How /metrics merges the registries of `serve --workers N` processes (src/metrics/clusterMetrics.ts):
// two registries built as the plugin builds them, merged as the primary merges them. Counters and
// histograms add up; gauges of one shared state (dependency health, ingest queue) are not multiplied by
// the number of processes; budget gauges come from the one process that refreshes them. The IPC path
// itself runs through the real CLI in test/serve.workers.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Counter, Gauge, type Histogram, Registry } from 'prom-client';
import type { BudgetLedger } from '../src/budgets/ledger.js';
import type { ControlPlane } from '../src/management/control.js';
import { createBudgetGauges } from '../src/metrics/budgetGauges.js';
import { createCallMetrics } from '../src/metrics/callMetrics.js';
import { aggregateText, metricsForAggregation } from '../src/metrics/clusterMetrics.js';
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
  // Only the gauges' JSON matters here: no refresh runs, so the plane and ledger are never read.
  const budgetRegistry = (maxNano: number | null) => {
    const gauges = createBudgetGauges({} as ControlPlane, {} as BudgetLedger);
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
