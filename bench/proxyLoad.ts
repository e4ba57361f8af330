// Proxy load, open loop: what Spendhouse adds to a call, and how many calls it keeps up with, with budgets
// reserved and settled and every record flowing through BullMQ into ClickHouse (the honest configuration).
//   npm run bench -- proxy [--rates 500,1000,2000,5000] [--seconds 10] [--stream-rate 1000]
//                          [--saturation-connections 64] [--latency-ms 2] [--profile]
//   npm run bench -- proxy --target https://gateway.example.com --key sk-… [--rates 5,20] [--seconds 30]
// Four processes: the fake provider, Spendhouse (`node bin/spendhouse.mjs serve`), the load generator, and
// this one (which only coordinates and samples /proc). Each rate runs direct to the fake provider, then
// through Spendhouse, in the same run; "added" is the difference of the two percentiles.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { forkTs } from './lib/children.js';
import { topSelfFramesOf } from './lib/cpuProfile.js';
import { type LoadGenerator, startLoadGenerator } from './lib/loadGenerator.js';
import type { LoadJob } from './lib/loadJob.js';
import { ProcessSampler } from './lib/procStats.js';
import { machineInfo, writeResult } from './lib/report.js';
import { type SpendhouseProcess, startSpendhouse } from './lib/spendhouseProcess.js';
import { printProxyLoad, type Row } from './proxyLoadTable.js';
import { runAgainstTarget } from './proxyTarget.js';

const chatBody = (stream: boolean) =>
  JSON.stringify({
    model: 'bench',
    stream,
    messages: [{ role: 'user', content: 'Hello, how are you?' }],
    user: 'bench-user',
    tags: ['bench:load', 'env:bench'],
  });

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: 'string' },
      seconds: { type: 'string' },
      'stream-rate': { type: 'string', default: '1000' },
      'saturation-connections': { type: 'string', default: '64' },
      'latency-ms': { type: 'string', default: '2' },
      profile: { type: 'boolean', default: false },
      target: { type: 'string' },
      key: { type: 'string' },
      'clickhouse-url': { type: 'string', default: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379' },
    },
  });
  const rates = (s: string) => s.split(',').map(Number);
  if (values.target) {
    if (!values.key) throw new Error('--target needs --key (a Spendhouse key of that deployment)');
    const seconds = Number(values.seconds ?? 30);
    await runAgainstTarget(values.target, values.key, rates(values.rates ?? '5,20'), seconds * 1000);
    return;
  }
  const durationMs = Number(values.seconds ?? 10) * 1000;
  const profileDir = values.profile ? mkdtempSync(join(tmpdir(), 'spendhouse-prof-')) : undefined;
  const machine = machineInfo();
  const fake = await forkTs<string>('./fakeUpstreamChild.ts', { FAKE_LATENCY_MS: values['latency-ms'] });
  const spendhouse = await startSpendhouse(
    { clickhouseUrl: values['clickhouse-url'], redisUrl: values['redis-url'] },
    fake.ready,
    { cpuProfileDir: profileDir },
  );
  const generator = await startLoadGenerator();
  try {
    let outcome: StepsOutcome;
    try {
      outcome = await runSteps({ fake: fake.ready, fakePid: fake.pid, spendhouse, generator, values, durationMs });
    } finally {
      generator.stop();
      fake.stop();
      await spendhouse.stop();
    }
    const profile = profileDir ? topFramesIn(profileDir) : null;
    const summary = printProxyLoad(outcome.rows, { durationMs, ...outcome, profile });
    const path = writeResult('proxy', {
      machine,
      loadAverageAtEnd: loadavg(),
      upstreamLatencyMs: Number(values['latency-ms']),
      durationMs,
      ...summary,
      rows: outcome.rows,
      profile,
    });
    console.log(`\nwritten ${path}\ndropping the bench database and Redis keys…`);
  } finally {
    await spendhouse.dropData();
  }
}

interface StepsOutcome {
  rows: Row[];
  proxiedOk: number;
  records: number;
}

interface StepsContext {
  fake: string;
  fakePid: number;
  spendhouse: SpendhouseProcess;
  generator: LoadGenerator;
  values: { rates?: string; 'stream-rate': string; 'saturation-connections': string };
  durationMs: number;
}

/** Warm-up, each rate direct then proxied, streaming, saturation; then waits for the records. */
async function runSteps({ fake, fakePid, spendhouse, generator, values, durationMs }: StepsContext) {
  const rows: Row[] = [];
  let proxiedOk = 0;
  const key = await spendhouse.budgetedKey();
  const job: JobFactory = (via, stream, mode, rate) => ({
    origin: via === 'direct' ? fake : spendhouse.origin,
    path: '/v1/chat/completions',
    key: via === 'direct' ? 'sk-direct' : key,
    bodies: [chatBody(stream)],
    mode,
    rate,
    connections: mode === 'closed' ? Number(values['saturation-connections']) : 1024,
    durationMs,
  });
  const measure = async (scenario: string, via: Row['via'], j: LoadJob) => {
    const samplers = { spendhouse: new ProcessSampler(spendhouse.pid), upstream: new ProcessSampler(fakePid) };
    samplers.spendhouse.start();
    samplers.upstream.start();
    const report = await generator.run(j);
    const usage = { spendhouse: samplers.spendhouse.stop(), upstream: samplers.upstream.stop() };
    if (via === 'spendhouse') proxiedOk += report.ok;
    rows.push({
      scenario,
      via,
      rate: j.mode === 'open' ? j.rate : null,
      ...report,
      spendhouse: via === 'spendhouse' ? usage.spendhouse : null,
      upstream: usage.upstream,
      load1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    });
    console.log(`  ${scenario} via ${via}: ${report.achievedRps} rps, p99 ${report.latency.p99} ms`);
  };
  console.log('  warm-up (2 s each way, not reported)…');
  for (const via of VIAS) {
    const report = await generator.run({ ...job(via, false, 'open', 500), durationMs: 2000 });
    if (via === 'spendhouse') proxiedOk += report.ok;
  }
  for (const rate of (values.rates ?? '500,1000,2000,5000').split(',').map(Number))
    for (const via of VIAS) await measure('json', via, job(via, false, 'open', rate));
  for (const via of VIAS) await measure('stream', via, job(via, true, 'open', Number(values['stream-rate'])));
  for (const via of VIAS) await measure('saturation', via, job(via, false, 'closed', 0));
  console.log('  waiting for the records to reach ClickHouse…');
  const records = await spendhouse.recordCount(proxiedOk, 120_000);
  return { rows, proxiedOk, records };
}

const VIAS = ['direct', 'spendhouse'] as const;
type JobFactory = (via: Row['via'], stream: boolean, mode: LoadJob['mode'], rate: number) => LoadJob;

/** The main thread's profile: with worker threads --cpu-prof writes one file per thread; the largest wins. */
function topFramesIn(dir: string) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  return files[0] ? topSelfFramesOf(files[0], 15) : null;
}
