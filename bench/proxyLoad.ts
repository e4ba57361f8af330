// Proxy load, open loop: what Spendhouse adds to a call, and how many calls it keeps up with, with budgets
// reserved and settled and every record flowing through BullMQ into ClickHouse (the honest configuration).
//   npm run bench -- proxy [--rates 500,1000,2000,5000] [--seconds 10] [--stream-rate 1000]
//                          [--saturation-connections 64] [--latency-ms 2] [--proxies N] [--workers W]
//                          [--cutoff-ms 2000] [--profile]
//   npm run bench -- proxy --floor fastify|raw [--quick]  (the same load on the floor: bench/lib/floorProxy.ts)
//   npm run bench -- proxy --quick [--workers 2]    (≤ 60 s: 1,000 calls/s and a short saturation, a summary)
//   npm run bench -- proxy --target https://gateway.example.com --key sk-… [--rates 5,20] [--seconds 30]
// Processes: the fake provider, Spendhouse (`node bin/spendhouse.mjs serve --workers W`: one in role `all`, or
// with --proxies N that many in role `proxy` plus one `worker`), the load generator, and this one (which only
// coordinates and samples /proc). Each rate runs direct to the fake provider, then through Spendhouse, in
// the same run; "added" is the difference of the two percentiles. `--floor` puts the least a budgeted,
// recorded proxy must do per call (fastify + undici + two Redis scripts) where Spendhouse was: run both and
// read Spendhouse's CPU per call as a multiple of the floor's.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { forkTs } from './lib/children.js';
import { topSelfFramesOf } from './lib/cpuProfile.js';
import { startFloor } from './lib/floorDeployment.js';
import { type LoadGenerator, startLoadGenerator } from './lib/loadGenerator.js';
import type { LoadJob } from './lib/loadJob.js';
import { worstLoop } from './lib/loopProbe.js';
import { MachineSampler, ProcessSampler, type ProcessUsage, pidListeningOn } from './lib/procStats.js';
import { machineInfo, writeResult } from './lib/report.js';
import { type SpendhouseDeployment, startSpendhouse } from './lib/spendhouseProcess.js';
import { printProxyLoad, printSummary, type Row } from './proxyLoadTable.js';
import { runAgainstTarget } from './proxyTarget.js';

const chatBody = (stream: boolean, content = 'Hello, how are you?') =>
  JSON.stringify({
    model: 'bench',
    stream,
    messages: [{ role: 'user', content }],
    user: 'bench-user',
    tags: ['bench:load', 'env:bench'],
  });

const WORDS = (
  'the budget call model team spend price token record answer stream provider cache window limit ' +
  'report invoice cluster query latency error retry customer project quarter forecast region usage'
).split(' ');

/**
 * `--prompts N`: N different user messages of about 250 tokens (seeded, the same in every run), sent in turn —
 * real traffic, where each call brings text the proxy has not seen. With the default of 1 every call sends
 * the same short message, which any per-text cache answers.
 */
function chatBodies(stream: boolean, prompts: number): string[] {
  if (prompts <= 1) return [chatBody(stream)];
  let seed = 17;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  return Array.from({ length: prompts }, (_, i) => {
    const words = Array.from({ length: 220 }, () => WORDS[next() % WORDS.length]);
    return chatBody(stream, `Request ${i}: ${words.join(' ')}?`);
  });
}

export const PROXY_DEFAULTS = {
  rates: '500,1000,2000,5000',
  seconds: '10',
  cutoffMs: '2000',
};

/**
 * `--quick`: the regression check every change can afford (≤ 60 s with boot and cleanup here): one open-loop
 * rate of 1,000 calls/s and a short saturation, each direct and proxied, no stream step. Flags given beside
 * it still win.
 */
export const QUICK = { rates: '1000', seconds: '6', saturationSeconds: '4', recordWaitMs: 20_000 };

/** How long each kind of step runs and whether the stream step runs (0: skipped). */
export interface StepPlan {
  rates: number[];
  durationMs: number;
  saturationMs: number;
  streamRate: number;
  recordWaitMs: number;
}

export function stepPlan(values: {
  quick?: boolean;
  rates?: string;
  seconds?: string;
  'saturation-seconds'?: string;
  'stream-rate'?: string;
}): StepPlan {
  const quick = values.quick === true;
  const seconds = Number(values.seconds ?? (quick ? QUICK.seconds : PROXY_DEFAULTS.seconds));
  return {
    rates: (values.rates ?? (quick ? QUICK.rates : PROXY_DEFAULTS.rates)).split(',').map(Number),
    durationMs: seconds * 1000,
    saturationMs: Number(values['saturation-seconds'] ?? (quick ? QUICK.saturationSeconds : seconds)) * 1000,
    streamRate: Number(values['stream-rate'] ?? (quick ? 0 : 1000)),
    recordWaitMs: quick ? QUICK.recordWaitMs : 120_000,
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: 'string' },
      seconds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'saturation-seconds': { type: 'string' },
      'stream-rate': { type: 'string' },
      'saturation-connections': { type: 'string', default: '64' },
      'latency-ms': { type: 'string', default: '2' },
      proxies: { type: 'string', default: '0' },
      workers: { type: 'string', default: '1' },
      'node-options': { type: 'string', default: '' },
      'cutoff-ms': { type: 'string', default: PROXY_DEFAULTS.cutoffMs },
      profile: { type: 'boolean', default: false },
      floor: { type: 'string' },
      prompts: { type: 'string', default: '1' },
      'log-level': { type: 'string', default: 'warn' },
      target: { type: 'string' },
      key: { type: 'string' },
      'clickhouse-url': { type: 'string', default: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379' },
    },
  });
  const rates = (s: string) => s.split(',').map(Number);
  const cutoffMs = Number(values['cutoff-ms']);
  if (values.target) {
    if (!values.key) throw new Error('--target needs --key (a Spendhouse key of that deployment)');
    const seconds = Number(values.seconds ?? 30);
    await runAgainstTarget(values.target, values.key, rates(values.rates ?? '5,20'), seconds * 1000, cutoffMs);
    return;
  }
  const started = performance.now();
  const proxies = Number(values.proxies);
  if (!Number.isInteger(proxies) || proxies < 0) throw new Error('--proxies must be 0 (one `all` process) or more');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be 1 or more (serve --workers)');
  // The floor answers JSON only: no stream step.
  const plan = stepPlan(values.floor ? { ...values, 'stream-rate': '0' } : values);
  const durationMs = plan.durationMs;
  const profileDir = values.profile ? mkdtempSync(join(tmpdir(), 'spendhouse-prof-')) : undefined;
  const machine = machineInfo();
  const fake = await forkTs<string>('./fakeUpstreamChild.ts', { FAKE_LATENCY_MS: values['latency-ms'] });
  const services = { clickhouseUrl: values['clickhouse-url'], redisUrl: values['redis-url'] };
  const nodeOptions = values['node-options'].split(' ').filter(Boolean);
  if (values.floor && !['fastify', 'raw'].includes(values.floor)) throw new Error('--floor is fastify or raw');
  const spendhouse = values.floor
    ? await startFloor(services, fake.ready, { http: values.floor, cpuProfileDir: profileDir, nodeOptions })
    : await startSpendhouse(services, fake.ready, {
        proxies,
        workers,
        cpuProfileDir: profileDir,
        nodeOptions,
        logLevel: values['log-level'],
      });
  const generator = await startLoadGenerator();
  const servicePids = {
    redis: localPid(values['redis-url']),
    clickhouse: localPid(values['clickhouse-url']),
  };
  try {
    let outcome: StepsOutcome;
    try {
      outcome = await runSteps({
        fake: fake.ready,
        fakePid: fake.pid,
        spendhouse,
        generator,
        services: servicePids,
        values,
        plan,
        cutoffMs,
      });
    } finally {
      generator.stop();
      fake.stop();
      await spendhouse.stop();
    }
    const profile = profileDir ? topFramesIn(profileDir) : null;
    if (profileDir) console.log(`\nCPU profiles (open in Chrome DevTools or speedscope): ${profileDir}`);
    const layout = values.floor ? floorLayout(values.floor) : layoutOf(proxies, workers);
    const summary = printProxyLoad(outcome.rows, { durationMs, cutoffMs, layout, ...outcome, profile });
    const wallS = Math.round((performance.now() - started) / 1000);
    const quick = printSummary(outcome.rows, { layout, ...outcome, wallS });
    // Its own file: a quick check must not overwrite the last full run's results.
    const path = writeResult(
      `${values.quick ? 'proxy-quick' : 'proxy'}${values.floor ? `-floor-${values.floor}` : ''}`,
      {
        machine,
        loadAverageAtEnd: loadavg(),
        upstreamLatencyMs: Number(values['latency-ms']),
        durationMs,
        cutoffMs,
        layout,
        quick: values.quick,
        plan,
        ...summary,
        summary: quick,
        rows: outcome.rows,
        profile,
      },
    );
    console.log(`\nwritten ${path}\ndropping the bench database and Redis keys…`);
  } finally {
    await spendhouse.dropData();
  }
}

const floorLayout = (http: string) =>
  `the floor (bench/lib/floorProxy.ts): ${http === 'raw' ? 'node:http' : 'fastify'} + undici + 2 Redis scripts per call, 1 process`;

const layoutOf = (proxies: number, workers: number) => {
  const each = workers > 1 ? ` (serve --workers ${workers}: a primary + ${workers} server processes each)` : '';
  return proxies === 0
    ? `${workers > 1 ? `${workers} processes on one port` : '1 process'}, role all${each}`
    : `${proxies} × role proxy (round robin)${each} + 1 × role worker`;
};

/** The pid of a service given by URL when it runs on this machine (its CPU is part of the system). */
function localPid(url: string): number | null {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname) || !port) return null;
  return pidListeningOn(Number(port));
}

interface StepsOutcome {
  rows: Row[];
  proxiedCalls: number;
  records: number;
}

interface StepsContext {
  fake: string;
  fakePid: number;
  spendhouse: SpendhouseDeployment;
  generator: LoadGenerator;
  services: { redis: number | null; clickhouse: number | null };
  values: { 'saturation-connections': string; prompts: string };
  plan: StepPlan;
  cutoffMs: number;
}

/** CPU summed over the Spendhouse processes; RSS summed too (each process has its own heap). */
function combined(usages: ProcessUsage[]): ProcessUsage {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    cpuPct: round(usages.reduce((n, u) => n + u.cpuPct, 0)),
    cpuMs: usages.reduce((n, u) => n + u.cpuMs, 0),
    rssMaxMb: round(usages.reduce((n, u) => n + u.rssMaxMb, 0)),
  };
}

const sampler = (pid: number | null) => (pid ? new ProcessSampler(pid) : null);

/** Warm-up, each rate direct then proxied, streaming, saturation; then waits for the records. */
async function runSteps(ctx: StepsContext): Promise<StepsOutcome> {
  const { fake, fakePid, spendhouse, generator, values, plan, cutoffMs } = ctx;
  const { durationMs } = plan;
  const rows: Row[] = [];
  let proxiedCalls = 0;
  const key = await spendhouse.budgetedKey();
  const job: JobFactory = (via, stream, mode, rate) => ({
    origins: via === 'direct' ? [fake] : spendhouse.proxyOrigins,
    key: via === 'direct' ? 'sk-direct' : key,
    requests: chatBodies(stream, Number(values.prompts)).map((body) => ({ path: '/v1/chat/completions', body })),
    mode,
    rate,
    connections: mode === 'closed' ? Number(values['saturation-connections']) : 1024,
    durationMs: mode === 'closed' ? plan.saturationMs : durationMs,
    cutoffMs,
  });
  const measure = async (scenario: string, via: Row['via'], j: LoadJob) => {
    const samplers = {
      spendhouse: spendhouse.processes.flatMap((p) => p.pids.map((pid) => new ProcessSampler(pid))),
      upstream: new ProcessSampler(fakePid),
      redis: sampler(ctx.services.redis),
      clickhouse: sampler(ctx.services.clickhouse),
      machine: new MachineSampler(),
    };
    for (const s of [...samplers.spendhouse, samplers.upstream, samplers.redis, samplers.clickhouse, samplers.machine])
      s?.start();
    await Promise.all(spendhouse.processes.map((p) => p.probe())); // resets the loop histograms
    const report = await generator.run(j);
    const loops = await Promise.all(spendhouse.processes.filter((p) => p.role !== 'worker').map((p) => p.probe()));
    const usage = {
      spendhouse: combined(samplers.spendhouse.map((s) => s.stop())),
      upstream: samplers.upstream.stop(),
      redis: samplers.redis?.stop() ?? null,
      clickhouse: samplers.clickhouse?.stop() ?? null,
      machineCpuPct: samplers.machine.stop(cpus().length),
    };
    if (via === 'spendhouse') proxiedCalls += report.ok + report.errors;
    rows.push({
      scenario,
      via,
      rate: j.mode === 'open' ? j.rate : null,
      ...report,
      ...usage,
      spendhouse: via === 'spendhouse' ? usage.spendhouse : null,
      loop: via === 'spendhouse' ? worstLoop(loops) : null,
      load1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    });
    const cut = report.cutOffAtS === null ? '' : `, OVERLOADED: cut off at ${report.cutOffAtS} s`;
    console.log(`  ${scenario} via ${via}: ${report.achievedRps} rps, p99 ${report.latency.p99} ms${cut}`);
  };
  console.log('  warm-up (2 s each way, not reported)…');
  for (const via of VIAS) {
    const report = await generator.run({ ...job(via, false, 'open', 500), durationMs: 2000 });
    if (via === 'spendhouse') proxiedCalls += report.ok + report.errors;
  }
  for (const rate of plan.rates) for (const via of VIAS) await measure('json', via, job(via, false, 'open', rate));
  if (plan.streamRate > 0)
    for (const via of VIAS) await measure('stream', via, job(via, true, 'open', plan.streamRate));
  for (const via of VIAS) await measure('saturation', via, job(via, false, 'closed', 0));
  console.log('  waiting for the records to reach ClickHouse…');
  const records = await spendhouse.recordCount(proxiedCalls, plan.recordWaitMs);
  return { rows, proxiedCalls, records };
}

const VIAS = ['direct', 'spendhouse'] as const;
type JobFactory = (via: Row['via'], stream: boolean, mode: LoadJob['mode'], rate: number) => LoadJob;

/** The profile of the busiest process: with worker threads --cpu-prof writes one file per thread. */
function topFramesIn(dir: string) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  return files[0] ? topSelfFramesOf(files[0], 15) : null;
}
