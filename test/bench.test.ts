// The benchmark harness's own math: percentiles, open-loop send schedule, /proc CPU accounting, profile
// ranking, tables and the --target request mix. No wall-clock bounds are asserted (only orderings that
// timers guarantee).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topSelfFrames } from '../bench/lib/cpuProfile.js';
import { runClosedLoop, runOpenLoop, sendOffsets } from '../bench/lib/openLoop.js';
import { cpuPercent, cpuTicksFromStat, ProcessSampler, rssBytesFromStatus } from '../bench/lib/procStats.js';
import { formatTable } from '../bench/lib/report.js';
import { percentile, summarize } from '../bench/lib/stats.js';
import { mixedBodies } from '../bench/proxyTarget.js';

describe('percentile (nearest rank)', () => {
  test('the textbook example: 15, 20, 35, 40, 50', () => {
    const xs = [15, 20, 35, 40, 50];
    assert.deepEqual(
      [5, 30, 40, 50, 100].map((p) => percentile(xs, p)),
      [15, 20, 20, 35, 50],
    );
  });

  test('always an observed value; p100 is the max; p99 of 1..1000 is 990', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 99), 990);
    assert.equal(percentile(xs, 99.9), 999);
    assert.equal(percentile(xs, 100), 1000);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
  });

  test('empty input is NaN, out-of-range p throws', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 0), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
  });

  test('summarize sorts numerically (not as strings) and rounds to 0.01 ms', () => {
    const s = summarize([10, 9, 100, 1.234567, 2]);
    assert.deepEqual(s, { count: 5, p50: 9, p90: 100, p99: 100, max: 100, mean: 24.45 });
  });
});

describe('open-loop rate control', () => {
  test('send offsets are i / rate seconds for rate × duration requests', () => {
    assert.deepEqual(sendOffsets(1000, 5), [0, 1, 2, 3, 4]);
    assert.deepEqual(sendOffsets(4, 1000), [0, 250, 500, 750]);
    assert.equal(sendOffsets(5000, 10_000).length, 50_000);
    assert.throws(() => sendOffsets(0, 1000), RangeError);
  });

  test('each request gets its scheduled time, is never sent early, and latency counts from the schedule', async () => {
    const scheduled: number[] = [];
    const sentAt: number[] = [];
    const outcome = await runOpenLoop(500, 40, async (_i, scheduledAt) => {
      scheduled.push(scheduledAt);
      sentAt.push(performance.now());
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true };
    });
    assert.equal(scheduled.length, 20);
    const offsets = sendOffsets(500, 40);
    scheduled.forEach((t, i) => {
      assert.ok(Math.abs(t - (scheduled[0] as number) - (offsets[i] as number)) < 1e-6);
      assert.ok((sentAt[i] as number) >= t);
    });
    assert.equal(outcome.ok, 20);
    for (const latency of outcome.latencies) assert.ok(latency >= 5 - 0.5); // the 5 ms the call took, at least
  });

  test('does not wait for answers: a first call that only answers once the sixth is sent completes', async () => {
    let release: () => void = () => undefined;
    const firstAnswered = new Promise<void>((r) => {
      release = r;
    });
    const outcome = await runOpenLoop(1000, 10, async (i) => {
      if (i === 5) release();
      if (i === 0) await firstAnswered;
      return { ok: true };
    });
    assert.equal(outcome.ok, 10);
    // measured from its schedule (t = 0), the held call took at least until the sixth was due (t = 5 ms)
    assert.ok(Math.max(...outcome.latencies) >= 5);
  });

  test('errors and thrown sends are counted, with the first message kept', async () => {
    const outcome = await runOpenLoop(1000, 4, async (i) => {
      if (i === 1) throw new Error('boom');
      return i === 2 ? { ok: false, error: '500 upstream' } : { ok: true, firstByteAt: performance.now() };
    });
    assert.equal(outcome.ok, 2);
    assert.equal(outcome.errors, 2);
    assert.equal(outcome.firstError, 'boom');
    assert.equal(outcome.ttfbs.length, 2);
  });

  test('closed loop keeps exactly `connections` calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const outcome = await runClosedLoop(3, 30, async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight -= 1;
      return { ok: true };
    });
    assert.equal(peak, 3);
    assert.ok(outcome.ok >= 3);
  });
});

describe('process sampling from /proc', () => {
  test('utime + stime are read after the command name, even one with spaces and parentheses', () => {
    const rest = Array.from({ length: 40 }, (_, i) => String(i + 3)); // field N holds N
    rest[14 - 3] = '150'; // utime
    rest[15 - 3] = '50'; // stime
    assert.equal(cpuTicksFromStat(`4242 (node (bench) x) ${rest.join(' ')}`), 200);
  });

  test('RSS comes from VmRSS in kB', () => {
    const status = 'Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t  204800 kB\nThreads:\t11\n';
    assert.equal(rssBytesFromStatus(status), 204_800 * 1024);
    assert.equal(rssBytesFromStatus('Name:\tzombie\n'), 0);
  });

  test('CPU % is ticks / CLK_TCK / wall seconds: 100% is one full core', () => {
    assert.equal(cpuPercent(100, 300, 1000, 100), 200);
    assert.equal(cpuPercent(0, 50, 2000, 100), 25);
    assert.equal(cpuPercent(0, 1, 3000, 100), 0.3);
    assert.equal(cpuPercent(0, 10, 0, 100), 0);
  });

  test('the sampler reads this very process', async () => {
    const sampler = new ProcessSampler(process.pid);
    sampler.start();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    await new Promise((r) => setTimeout(r, 20));
    const usage = sampler.stop();
    assert.ok(x > 0 && usage.cpuPct >= 0 && usage.rssMaxMb > 10);
  });
});

test('CPU profile frames ranked by self time', () => {
  const frame = (id: number, functionName: string) => ({
    id,
    callFrame: { functionName, url: `file:///app/node_modules/pkg/lib/${functionName}.js`, lineNumber: 9 },
  });
  const profile = {
    nodes: [frame(1, 'parse'), frame(2, 'hash'), frame(3, '')],
    samples: [1, 2, 1, 3, 1],
    timeDeltas: [100, 300, 100, 100, 400],
  };
  assert.deepEqual(topSelfFrames(profile), [
    { frame: 'parse lib/parse.js:10', selfPct: 60 },
    { frame: 'hash lib/hash.js:10', selfPct: 30 },
    { frame: '(anonymous) lib/.js:10', selfPct: 10 },
  ]);
});

test('tables right-align numeric columns and show missing values as a dash', () => {
  assert.equal(
    formatTable(
      ['name', 'rps'],
      [
        ['a', 1],
        ['b', null],
      ],
    ),
    '| name | rps |\n|---|---:|\n| a | 1 |\n| b | – |',
  );
});

test('--target mix: every model in turn, one call in five streamed, ten users, feature tags', () => {
  const bodies = mixedBodies(['m1', 'm2', 'm3'], 60).map((b) => JSON.parse(b));
  assert.equal(bodies.filter((b) => b.stream).length, 12);
  assert.deepEqual(new Set(bodies.map((b) => b.model)), new Set(['m1', 'm2', 'm3']));
  assert.equal(new Set(bodies.map((b) => b.user)).size, 10);
  assert.ok(bodies.every((b) => b.tags.includes('env:bench') && b.tags[0].startsWith('feature:')));
});
