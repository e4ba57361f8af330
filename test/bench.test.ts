// The benchmark harness's own math: percentiles, open-loop send schedule, /proc CPU accounting, profile
// ranking, tables and the --target request mix. No wall-clock bounds are asserted (only orderings that
// timers guarantee).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topSelfFrames } from '../bench/lib/cpuProfile.js';
import { Backlog, runClosedLoop, runOpenLoop, sendOffsets } from '../bench/lib/openLoop.js';
import {
  cpuPercent,
  cpuTicksFromStat,
  listeningInodes,
  MachineSampler,
  machineTicksFromStat,
  ProcessSampler,
  pidListeningOn,
  rssBytesFromStatus,
} from '../bench/lib/procStats.js';
import { formatTable } from '../bench/lib/report.js';
import { percentile, summarize } from '../bench/lib/stats.js';
import { cpuMsPerCall, stepStatus } from '../bench/proxyLoadTable.js';
import { mixedRequests } from '../bench/proxyTarget.js';
import { ALL, planAll } from '../bench/run.js';

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
    /** Each call's own view of its end, from its schedule: the runner's latency cannot be less. */
    const ownLatency: number[] = [];
    const outcome = await runOpenLoop(500, 40, async (_i, scheduledAt) => {
      scheduled.push(scheduledAt);
      sentAt.push(performance.now());
      await new Promise((r) => setTimeout(r, 5));
      ownLatency.push(performance.now() - scheduledAt);
      return { ok: true };
    });
    assert.equal(scheduled.length, 20);
    const offsets = sendOffsets(500, 40);
    scheduled.forEach((t, i) => {
      assert.ok(Math.abs(t - (scheduled[0] as number) - (offsets[i] as number)) < 1e-6);
      assert.ok((sentAt[i] as number) >= t);
    });
    assert.equal(outcome.ok, 20);
    // Latencies arrive in completion order, so compare what holds whatever the pairing (a timer's own delay
    // can fall short of 5 ms by its rounding, so the calls' own clocks are the bound, not the 5 ms).
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.ok(sum(outcome.latencies) >= sum(ownLatency) - 1e-6);
    assert.ok(Math.min(...outcome.latencies) >= Math.min(...ownLatency) - 1e-6);
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

  test('the backlog names the oldest unanswered request, whatever order answers come in', () => {
    const backlog = new Backlog(5);
    assert.equal(backlog.oldestUnanswered(), null);
    for (const i of [0, 1, 2, 3]) backlog.markSent(i);
    assert.equal(backlog.oldestUnanswered(), 0);
    backlog.markAnswered(2);
    backlog.markAnswered(1);
    assert.equal(backlog.oldestUnanswered(), 0);
    backlog.markAnswered(0);
    assert.equal(backlog.oldestUnanswered(), 3); // 1 and 2 answered already
    backlog.markAnswered(3);
    assert.equal(backlog.oldestUnanswered(), null);
    backlog.markSent(4);
    assert.equal(backlog.oldestUnanswered(), 4);
  });

  test('a server that cannot keep up is cut off: sending stops once a call is cutoffMs overdue', async () => {
    // Nothing answers until released, so the oldest call is overdue after 30 ms whatever the timers do.
    const holds: (() => void)[] = [];
    const run = runOpenLoop(1000, 2000, () => new Promise((resolve) => holds.push(() => resolve({ ok: true }))), {
      cutoffMs: 30,
      drainMs: 5000,
    });
    let settled = false;
    void run.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    const sentByThen = holds.length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(holds.length, sentByThen, 'nothing more is sent after the cut-off');
    assert.equal(settled, false, 'still draining: the calls in flight have not answered');
    for (const release of holds) release();
    const done = await run;
    assert.ok(done.cutOffAtMs !== null && done.cutOffAtMs >= 30 && done.cutOffAtMs < 2000, `${done.cutOffAtMs}`);
    assert.equal(done.sent, holds.length);
    assert.ok(done.sent < 2000, 'stopped sending long before the 2,000 scheduled calls');
    assert.equal(done.ok, done.sent, 'everything sent is still answered and counted');
    // measured from the schedule: the first call waited from t = 0 until its release (after the cut-off)
    assert.ok(Math.max(...done.latencies) >= 30);
  });

  test('a server that keeps up is never cut off', async () => {
    const outcome = await runOpenLoop(500, 40, async () => ({ ok: true }), { cutoffMs: 1000, drainMs: 1000 });
    assert.equal(outcome.cutOffAtMs, null);
    assert.equal(outcome.sent, 20);
  });

  test('calls still out when the drain runs out are aborted and counted as errors', async () => {
    const outcome = await runOpenLoop(
      1000,
      3,
      (_i, _at, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      { cutoffMs: 1000, drainMs: 20 },
    );
    assert.equal(outcome.sent, 3);
    assert.equal(outcome.errors, 3);
    assert.equal(outcome.firstError, 'aborted');
  });

  test('step status: kept up, closed loop, or overloaded with what was sent', () => {
    assert.equal(stepStatus({ cutOffAtS: null, sent: 5000, rate: 1000 }, 5000), 'kept up');
    assert.equal(stepStatus({ cutOffAtS: null, sent: 900, rate: null }, 5000), 'closed loop');
    assert.equal(
      stepStatus({ cutOffAtS: 2.4, sent: 12_000, rate: 5000 }, 10_000),
      'OVERLOADED, cut at 2.4 s (12000 of 50000 sent)',
    );
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

  test('machine CPU: busy is everything but idle and iowait', () => {
    // user nice system idle iowait irq softirq steal
    assert.deepEqual(machineTicksFromStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n'), { busy: 150, total: 1000 });
  });

  test('the listening socket of a port is found in /proc/net/tcp (LISTEN only, port in hex)', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:3FFB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14864 1 0',
      '   1: 0100007F:3FFB 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0',
      '   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1605 1 0',
    ].join('\n');
    assert.deepEqual(listeningInodes(table, 16379), ['14864']);
    assert.deepEqual(listeningInodes(table, 2024), ['1605']);
    assert.deepEqual(listeningInodes(table, 80), []);
  });

  test('the pid behind a listening port is this process for a server it opened', async () => {
    const { createServer } = await import('node:net');
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      assert.equal(pidListeningOn(port), process.pid);
    } finally {
      server.close();
    }
  });

  test('the machine sampler reports between 0 and all cores', () => {
    const machine = new MachineSampler();
    machine.start();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    const pct = machine.stop(2);
    assert.ok(x > 0 && pct >= 0 && pct <= 200, String(pct));
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

test('--target mix: every model in turn, one chat call in five streamed (every model), ten users, feature tags', () => {
  const requests = mixedRequests('/gw', { chat: ['m1', 'm2', 'm3'], embedding: ['e1'] });
  assert.equal(requests.length, 40);
  const bodies = requests.map((r) => ({ path: r.path, ...JSON.parse(r.body) }));
  const chat = bodies.filter((b) => b.path === '/gw/v1/chat/completions');
  const embeddings = bodies.filter((b) => b.path === '/gw/v1/embeddings');
  assert.equal(chat.length, 30);
  assert.equal(chat.filter((b) => b.stream).length, 6);
  assert.deepEqual(new Set(chat.filter((b) => b.stream).map((b) => b.model)), new Set(['m1', 'm2', 'm3']));
  assert.ok(embeddings.length === 10 && embeddings.every((b) => b.model === 'e1' && typeof b.input === 'string'));
  assert.equal(new Set(bodies.map((b) => b.user)).size, 10);
  assert.ok(bodies.every((b) => b.tags.includes('env:bench') && b.tags[0].startsWith('feature:')));
});

test('CPU ms per call counts errors as calls and is null without calls', () => {
  assert.equal(cpuMsPerCall({ cpuPct: 50, cpuMs: 3000, rssMaxMb: 1 }, { ok: 5000, errors: 1000 }), 0.5);
  assert.equal(cpuMsPerCall({ cpuPct: 0, cpuMs: 0, rssMaxMb: 1 }, { ok: 0, errors: 0 }), null);
});

describe('`all`', () => {
  test('every suite of the issue, each figure once: proxy, ingest, query at 10M (with Postgres) and 100M, budget, archive', () => {
    assert.deepEqual(
      ALL.map((s) => s.label),
      ['proxy', 'ingest', 'query-10m', 'query-100m', 'budget', 'archive'],
    );
    const q10 = ALL.find((s) => s.label === 'query-10m');
    const q100 = ALL.find((s) => s.label === 'query-100m');
    assert.ok(q10?.args.includes('10000000') && !q10.args.includes('--no-pg'));
    assert.ok(q100?.args.includes('100000000') && q100.args.includes('--no-pg'));
  });

  test('routed flags reach the step named by label or by suite, after its defaults', () => {
    const plan = planAll(['proxy:--proxies=2', 'query:--reps=2', 'query-100m:--reload']);
    const argv = (label: string) => plan.find((p) => p.step.label === label)?.argv;
    assert.deepEqual(argv('proxy'), ['--seconds', '10', '--proxies=2']);
    assert.deepEqual(argv('query-10m')?.slice(-1), ['--reps=2']);
    assert.deepEqual(argv('query-100m')?.slice(-2), ['--reps=2', '--reload']);
    assert.deepEqual(argv('budget'), ['--rounds', '1']);
  });

  test('--only keeps the named steps', () => {
    assert.deepEqual(
      planAll(['--only=proxy,budget']).map((p) => p.step.label),
      ['proxy', 'budget'],
    );
  });
});
