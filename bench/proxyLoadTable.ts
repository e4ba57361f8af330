// Tables and target verdicts for the open-loop proxy suite (bench/proxyLoad.ts).
import type { FrameShare } from './lib/cpuProfile.js';
import type { LoadReport } from './lib/loadJob.js';
import type { LoopReport } from './lib/loopProbe.js';
import type { ProcessUsage } from './lib/procStats.js';
import { formatTable } from './lib/report.js';
import type { LatencySummary } from './lib/stats.js';

export const TARGET_ADDED_P99_MS = 1;
export const TARGET_ADDED_P99_AT_RPS = 1000;
export const TARGET_SATURATION_RPS = 5000;

export interface Row extends LoadReport {
  scenario: string;
  via: 'direct' | 'spendhouse';
  /** Scheduled requests per second; null for the closed-loop saturation run. */
  rate: number | null;
  /** Every Spendhouse process together (CPU and RSS summed); null on direct rows. */
  spendhouse: ProcessUsage | null;
  /** The worst proxy event loop and the GC of all proxies over the step; null on direct rows. */
  loop: LoopReport | null;
  upstream: ProcessUsage;
  generator: ProcessUsage;
  /** The local redis-server and clickhouse-server (shared with anything else using them); null if not local. */
  redis: ProcessUsage | null;
  clickhouse: ProcessUsage | null;
  /** The whole machine, % of one core. */
  machineCpuPct: number;
  load1m: number;
}

const round = (x: number) => Math.round(x * 100) / 100;
const added = (via: LatencySummary, direct: LatencySummary) => ({
  p50: round(via.p50 - direct.p50),
  p90: round(via.p90 - direct.p90),
  p99: round(via.p99 - direct.p99),
});

interface Context {
  durationMs: number;
  cutoffMs: number;
  layout: string;
  records: number;
  proxiedCalls: number;
  profile: FrameShare[] | null;
}

/** Spendhouse CPU time per answered call (all its processes): the cost that decides capacity, robust to load. */
export function cpuMsPerCall(usage: ProcessUsage, r: Pick<Row, 'ok' | 'errors'>): number | null {
  const calls = r.ok + r.errors;
  return calls > 0 ? Math.round((usage.cpuMs / calls) * 1000) / 1000 : null;
}

/** "kept up", or where an open-loop step was cut off because the server fell behind. */
export function stepStatus(r: Pick<Row, 'cutOffAtS' | 'sent' | 'rate'>, durationMs: number): string {
  if (r.cutOffAtS === null) return r.rate === null ? 'closed loop' : 'kept up';
  const scheduled = r.rate === null ? r.sent : Math.floor((r.rate * durationMs) / 1000);
  return `OVERLOADED, cut at ${r.cutOffAtS} s (${r.sent} of ${scheduled} sent)`;
}

export function printProxyLoad(rows: Row[], ctx: Context) {
  console.log(
    `\nproxy load, open loop, ${ctx.durationMs / 1000} s per step (latency from the scheduled send time); ` +
      `Spendhouse: ${ctx.layout}; a step is cut off once a call is ${ctx.cutoffMs} ms overdue\n`,
  );
  console.log(
    formatTable(
      ['scenario', 'via', 'rate', 'achieved rps', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'step'],
      rows.map((r) => [
        r.scenario,
        r.via,
        r.rate ?? 'max',
        r.achievedRps,
        r.latency.p50,
        r.latency.p90,
        r.latency.p99,
        r.latency.max,
        r.errors,
        stepStatus(r, ctx.durationMs),
      ]),
    ),
  );
  console.log('\nwhere the time went (CPU: 100% = one core; machine: 200% = both cores busy)\n');
  console.log(
    formatTable(
      [
        'scenario',
        'via',
        'rate',
        'proxy CPU %',
        'CPU ms / call',
        'proxy RSS MB',
        'loop delay p99 ms',
        'loop delay max ms',
        'GC ms',
        'GC max ms',
        'redis CPU %',
        'clickhouse CPU %',
        'generator CPU %',
        'upstream CPU %',
        'machine CPU %',
        'load 1m',
      ],
      rows.map((r) => [
        r.scenario,
        r.via,
        r.rate ?? 'max',
        r.spendhouse?.cpuPct,
        r.spendhouse ? cpuMsPerCall(r.spendhouse, r) : null,
        r.spendhouse?.rssMaxMb,
        r.loop?.delayP99Ms,
        r.loop?.delayMaxMs,
        r.loop?.gcMs,
        r.loop?.gcMaxMs,
        r.redis?.cpuPct,
        r.clickhouse?.cpuPct,
        r.generator.cpuPct,
        r.upstream.cpuPct,
        r.machineCpuPct,
        r.load1m,
      ]),
    ),
  );
  const pairs = pairUp(rows);
  console.log('\nadded by Spendhouse (difference of percentiles; streams: time to first token)\n');
  console.log(
    formatTable(
      ['scenario', 'rate', 'added p50 ms', 'added p90 ms', 'added p99 ms'],
      pairs.map(({ scenario, rate, via, direct }) => {
        const d =
          scenario === 'stream' && via.ttft && direct.ttft
            ? added(via.ttft, direct.ttft)
            : added(via.latency, direct.latency);
        const label = scenario === 'stream' ? 'stream (TTFT)' : scenario;
        const overloaded = via.cutOffAtS !== null || direct.cutOffAtS !== null;
        return [overloaded ? `${label} (overloaded)` : label, rate ?? 'max', d.p50, d.p90, d.p99];
      }),
    ),
  );
  const atTarget = pairs.find((p) => p.scenario === 'json' && p.rate === TARGET_ADDED_P99_AT_RPS);
  const addedP99 = atTarget ? added(atTarget.via.latency, atTarget.direct.latency).p99 : null;
  const saturation = pairs.find((p) => p.scenario === 'saturation')?.via.achievedRps ?? null;
  const errors = rows.filter((r) => r.via === 'spendhouse').reduce((n, r) => n + r.errors, 0);
  const targets = {
    addedP99AtTargetRateMs: addedP99,
    addedP99Met: addedP99 === null ? null : addedP99 <= TARGET_ADDED_P99_MS,
    saturationRps: saturation,
    saturationMet: saturation === null ? null : saturation >= TARGET_SATURATION_RPS,
  };
  const verdict = (met: boolean | null) => (met === null ? 'not measured' : met ? 'MET' : 'MISSED');
  console.log(
    [
      '',
      `target: added p99 ≤ ${TARGET_ADDED_P99_MS} ms at ${TARGET_ADDED_P99_AT_RPS} rps → ${addedP99 ?? '–'} ms: ${verdict(targets.addedP99Met)}`,
      `target: saturation ≥ ${TARGET_SATURATION_RPS} rps through Spendhouse → ${saturation ?? '–'} rps: ${verdict(targets.saturationMet)}`,
      `errors through Spendhouse: ${errors}`,
      `records in ClickHouse: ${ctx.records} for ${ctx.proxiedCalls} proxied calls answered (${errors} of them errors, recorded too; each successful call reserved and settled its budgets)`,
      'Generator, proxy and fake provider share the same cores: see bench/README.md before reading these as capacity.',
    ].join('\n'),
  );
  if (ctx.profile) {
    console.log('\nSpendhouse CPU profile, top functions by self time (whole run)\n');
    console.log(
      formatTable(
        ['self %', 'function'],
        ctx.profile.map((f) => [f.selfPct, f.frame]),
      ),
    );
  }
  return { targets, errorsThroughSpendhouse: errors, records: ctx.records, proxiedCalls: ctx.proxiedCalls };
}

function pairUp(rows: Row[]) {
  const out: { scenario: string; rate: number | null; via: Row; direct: Row }[] = [];
  for (const via of rows.filter((r) => r.via === 'spendhouse')) {
    const direct = rows.find((r) => r.via === 'direct' && r.scenario === via.scenario && r.rate === via.rate);
    if (direct) out.push({ scenario: via.scenario, rate: via.rate, via, direct });
  }
  return out;
}

/** Issue 17's targets for one proxy process on this 2-core machine, printed beside the summary. */
export const HOT_PATH_TARGETS =
  'CPU ≤ 0.2 ms / call, added p50 ≤ 0.3 ms and p99 ≤ 2 ms at 1,000 calls/s, RSS ≤ 200 MB, loop delay max ≤ 10 ms';

/**
 * One line per proxied step — what `--quick` is for: the numbers to compare before and after a change.
 * "added" is the difference of the proxied and direct percentiles (streams: time to first token); the
 * saturation step has no added latency (closed loop) but shows the direct rate beside its own.
 */
export function summaryRows(rows: Row[]) {
  return pairUp(rows).map(({ scenario, rate, via, direct }) => {
    const usage = via.spendhouse;
    const closed = scenario === 'saturation';
    const d =
      scenario === 'stream' && via.ttft && direct.ttft
        ? added(via.ttft, direct.ttft)
        : added(via.latency, direct.latency);
    return {
      step: `${scenario} ${rate ?? 'max'}${via.cutOffAtS === null ? '' : ' (overloaded)'}`,
      callsPerS: via.achievedRps,
      directCallsPerS: closed ? direct.achievedRps : null,
      cpuMsPerCall: usage ? cpuMsPerCall(usage, via) : null,
      cpuPct: usage?.cpuPct ?? null,
      rssMb: usage?.rssMaxMb ?? null,
      loopDelayMaxMs: via.loop?.delayMaxMs ?? null,
      addedP50Ms: closed ? null : d.p50,
      addedP99Ms: closed ? null : d.p99,
    };
  });
}

export function printSummary(
  rows: Row[],
  ctx: { layout: string; records: number; proxiedCalls: number; wallS: number },
) {
  const summary = summaryRows(rows);
  const load = rows.at(-1)?.load1m;
  console.log(`\nsummary — ${ctx.layout}; ${ctx.wallS} s in all; load average ${load} at the last step`);
  console.log(`targets (issue 17): ${HOT_PATH_TARGETS}\n`);
  console.log(
    formatTable(
      [
        'step',
        'calls/s',
        'direct calls/s',
        'CPU ms / call',
        'proxy CPU %',
        'RSS MB (all processes)',
        'loop delay max ms',
        'added p50 ms',
        'added p99 ms',
      ],
      summary.map((s) => [
        s.step,
        s.callsPerS,
        s.directCallsPerS,
        s.cpuMsPerCall,
        s.cpuPct,
        s.rssMb,
        s.loopDelayMaxMs,
        s.addedP50Ms,
        s.addedP99Ms,
      ]),
    ),
  );
  console.log(`records in ClickHouse: ${ctx.records} of ${ctx.proxiedCalls} proxied calls`);
  return summary;
}
