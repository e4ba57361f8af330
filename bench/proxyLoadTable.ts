// Tables and target verdicts for the open-loop proxy suite (bench/proxyLoad.ts).
import type { FrameShare } from './lib/cpuProfile.js';
import type { LoadReport } from './lib/loadJob.js';
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
  spendhouse: ProcessUsage | null;
  upstream: ProcessUsage;
  generator: ProcessUsage;
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
  records: number;
  proxiedOk: number;
  profile: FrameShare[] | null;
}

export function printProxyLoad(rows: Row[], ctx: Context) {
  console.log(`\nproxy load, open loop, ${ctx.durationMs / 1000} s per step (latency from the scheduled send time)\n`);
  console.log(
    formatTable(
      [
        'scenario',
        'via',
        'rate',
        'achieved rps',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'errors',
        'proxy CPU %',
        'proxy RSS MB',
        'generator CPU %',
        'upstream CPU %',
        'load 1m',
      ],
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
        r.spendhouse?.cpuPct,
        r.spendhouse?.rssMaxMb,
        r.generator.cpuPct,
        r.upstream.cpuPct,
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
        return [scenario === 'stream' ? 'stream (TTFT)' : scenario, rate ?? 'max', d.p50, d.p90, d.p99];
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
      `records in ClickHouse: ${ctx.records} for ${ctx.proxiedOk} successful proxied calls (budget reserved and settled on each) + ${errors} failed ones (recorded too)`,
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
  return { targets, errorsThroughSpendhouse: errors, records: ctx.records, proxiedOk: ctx.proxiedOk };
}

function pairUp(rows: Row[]) {
  const out: { scenario: string; rate: number | null; via: Row; direct: Row }[] = [];
  for (const via of rows.filter((r) => r.via === 'spendhouse')) {
    const direct = rows.find((r) => r.via === 'direct' && r.scenario === via.scenario && r.rate === via.rate);
    if (direct) out.push({ scenario: via.scenario, rate: via.rate, via, direct });
  }
  return out;
}
