// `npm run bench -- proxy --quick`: what it runs (one rate of 1,000 calls/s, a short saturation, no stream
// step; flags beside it still win; well inside a minute of load) and the summary it prints. The bench itself
// is never run by tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROXY_DEFAULTS, stepPlan } from '../bench/proxyLoad.js';
import { type Row, summaryRows } from '../bench/proxyLoadTable.js';

test('--quick: 1,000 calls/s for 6 s and 4 s of saturation, each direct and proxied, no stream step', () => {
  const plan = stepPlan({ quick: true });
  assert.deepEqual(plan, { rates: [1000], durationMs: 6000, saturationMs: 4000, streamRate: 0, recordWaitMs: 20_000 });
  // Warm-up 2 s each way, then every step direct and proxied: the load itself leaves room for boot and cleanup.
  const loadS = (2 * 2000 + 2 * plan.rates.length * plan.durationMs + 2 * plan.saturationMs) / 1000;
  assert.ok(loadS <= 30, `${loadS} s of load`);
});

test('without --quick the full suite is unchanged; flags beside --quick win', () => {
  assert.deepEqual(stepPlan({}), {
    rates: PROXY_DEFAULTS.rates.split(',').map(Number),
    durationMs: 10_000,
    saturationMs: 10_000,
    streamRate: 1000,
    recordWaitMs: 120_000,
  });
  const plan = stepPlan({ quick: true, rates: '500,2000', 'stream-rate': '300', 'saturation-seconds': '3' });
  assert.deepEqual([plan.rates, plan.streamRate, plan.saturationMs], [[500, 2000], 300, 3000]);
});

const latency = (p50: number, p99: number) => ({ count: 1, p50, p90: p99, p99, max: p99, mean: p50 });
const usage = { cpuPct: 50, cpuMs: 2500, rssMaxMb: 300 };
const loop = { delayP50Ms: 0, delayP99Ms: 3, delayMaxMs: 12.5, gcMs: 40, gcMaxMs: 4, gcMajor: 0 };

function row(scenario: string, via: Row['via'], rate: number | null, rps: number, p50: number, p99: number): Row {
  return {
    scenario,
    via,
    rate,
    ok: 5000,
    errors: 0,
    firstError: null,
    achievedRps: rps,
    latency: latency(p50, p99),
    ttft: null,
    sent: 5000,
    cutOffAtS: null,
    spendhouse: via === 'spendhouse' ? usage : null,
    loop: via === 'spendhouse' ? loop : null,
    upstream: usage,
    generator: usage,
    redis: null,
    clickhouse: null,
    machineCpuPct: 150,
    load1m: 1.5,
  };
}

test('summary: per proxied step, CPU ms per call, RSS, loop delay max and added p50/p99 against direct', () => {
  const rows = [
    row('json', 'direct', 1000, 1000, 3, 5),
    row('json', 'spendhouse', 1000, 1000, 4.5, 9),
    row('saturation', 'direct', null, 9000, 5, 10),
    row('saturation', 'spendhouse', null, 2000, 30, 60),
  ];
  assert.deepEqual(summaryRows(rows), [
    {
      step: 'json 1000',
      callsPerS: 1000,
      directCallsPerS: null,
      cpuMsPerCall: 0.5,
      cpuPct: 50,
      rssMb: 300,
      loopDelayMaxMs: 12.5,
      addedP50Ms: 1.5,
      addedP99Ms: 4,
    },
    {
      step: 'saturation max',
      callsPerS: 2000,
      directCallsPerS: 9000,
      cpuMsPerCall: 0.5,
      cpuPct: 50,
      rssMb: 300,
      loopDelayMaxMs: 12.5,
      addedP50Ms: null,
      addedP99Ms: null,
    },
  ]);
});
