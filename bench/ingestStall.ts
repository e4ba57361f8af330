// Ingest stall benchmark (issue 16: no ingest request may hold the event loop past 50 ms). Starts the app
// in this process (its own database and Redis prefix, dropped at the end), listens on a real port, and sends
// each body with curl — a separate process, so the client's work is not on the loop being measured. Per
// body: the longest event-loop delay, its p99, GC time and longest pause, wall time, peak RSS and the load
// average. With the in-process worker (default) the window runs until the queue is drained, so the
// worker's share of the stall is counted too. Prints a table and writes bench/results/ingest-stall.json.
//   npm run bench -- ingest-stall [--reps 3] [--no-worker] [--bodies nested-gzip,nested-plain,array,ndjson,ndjson-gzip]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { waitForQueueIdle } from '../test/helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, testConfig } from '../test/helpers/testApp.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';

const execFileAsync = promisify(execFile);
/** Timer resolution of the delay histogram, ms (what it reports beyond this is the delay). */
const RESOLUTION_MS = 2;
const TEN_MB = 10 * 1024 * 1024;

interface Body {
  name: string;
  /** The bytes for rep `rep` (record ids differ per rep, so every rep's records are accepted). */
  make(rep: number): Buffer;
  gzip: boolean;
}

/** A compact ingest record (~250 bytes), the shape of docs/ingest.md's example. */
function record(run: string, i: number): string {
  return JSON.stringify({
    request_id: `${run}-${i}`,
    start_time: new Date(Date.now() - (i % 3600) * 1000).toISOString(),
    model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini',
    prompt_tokens: 100 + (i % 900),
    completion_tokens: 20 + (i % 300),
    team_id: `team-${i % 7}`,
    user_id: `user-${i % 13}`,
    tags: i % 3 ? ['batch', 'prod'] : ['exp'],
    cost_usd: `0.00${(i % 9000) + 1000}00`,
  });
}

/** Records of run `run` until `bytes` of text: joined by `sep`. */
function recordText(run: string, bytes: number, sep: string): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const r = record(run, i);
    parts.push(r);
    size += r.length + sep.length;
  }
  return parts.join(sep);
}

const BODIES: Body[] = [
  // 64 MiB of `[` inflated (the default ingest.max_body_bytes), ~65 KB on the wire.
  { name: 'nested-gzip', gzip: true, make: () => gzipSync(Buffer.alloc(64 * 1024 * 1024, '['), { level: 9 }) },
  { name: 'nested-plain', gzip: false, make: () => Buffer.alloc(1024 * 1024, '[') },
  { name: 'array', gzip: false, make: (rep) => Buffer.from(`[${recordText(`a${rep}`, TEN_MB, ',')}]`) },
  { name: 'ndjson', gzip: false, make: (rep) => Buffer.from(`${recordText(`n${rep}`, TEN_MB, '\n')}\n`) },
  { name: 'ndjson-gzip', gzip: true, make: (rep) => gzipSync(`${recordText(`g${rep}`, TEN_MB, '\n')}\n`) },
];

interface Measurement {
  body: string;
  rep: number;
  status: string;
  bytes: number;
  max_delay_ms: number;
  p99_delay_ms: number;
  gc_ms: number;
  gc_max_ms: number;
  wall_ms: number;
  peak_rss_mb: number;
  load1: number;
  /** Each pause of the loop over the 50 ms budget: [start, end] in µs of process.hrtime (a .cpuprofile's clock). */
  stalls_us: [number, number][];
}

/** Watches the loop with a 1 ms timer and notes every gap over `overMs` (the histogram only gives sizes). */
function gapWatcher(overMs: number) {
  const gaps: [number, number][] = [];
  const now = () => Number(process.hrtime.bigint() / 1000n);
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    if (t - last > overMs * 1000) gaps.push([last, t]);
    last = t;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return gaps;
    },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
const delayMs = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS));

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      reps: { type: 'string', default: '3' },
      'no-worker': { type: 'boolean', default: false },
      bodies: { type: 'string', default: BODIES.map((b) => b.name).join(',') },
    },
  });
  const reps = Number(values.reps);
  const worker = !values['no-worker'];
  const chosen = BODIES.filter((b) => values.bodies.split(',').includes(b.name));
  const dir = mkdtempSync(join(tmpdir(), 'ingest-stall-'));
  const t = await startTestApp(testConfig(), { ingestWorker: worker });
  const machine = machineInfo();
  const results: Measurement[] = [];
  try {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/ingest/v1/records`;
    const gc = { total: 0, max: 0 };
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gc.total += entry.duration;
        gc.max = Math.max(gc.max, entry.duration);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    for (const body of chosen) {
      for (let rep = 0; rep < reps; rep++) {
        const bytes = body.make(rep);
        const file = join(dir, `${body.name}-${rep}`);
        writeFileSync(file, bytes);
        // Settle: what the previous body left behind (its garbage, its queue) is not this body's.
        if (worker) await waitForQueueIdle(t.app.spendProducer.queue, 600_000);
        globalThis.gc?.();
        const headers = ['-H', `authorization: Bearer ${TEST_MASTER_KEY}`, '-H', 'content-type: application/json'];
        if (body.gzip) headers.push('-H', 'content-encoding: gzip');
        const load1 = loadavg()[0] ?? 0;
        const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
        let peakRss = process.memoryUsage.rss();
        const rssTimer = setInterval(() => {
          peakRss = Math.max(peakRss, process.memoryUsage.rss());
        }, 10);
        const curl = execFileAsync(
          'curl',
          ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...headers, '--data-binary', `@${file}`, url],
          { maxBuffer: 1024 * 1024 },
        );
        // Spawning curl is this process's own synchronous work: the window opens after it.
        const started = performance.now();
        gc.total = 0;
        gc.max = 0;
        loop.enable();
        const gaps = gapWatcher(50);
        const { stdout } = await curl.catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? 'curl failed' }));
        if (worker) await waitForQueueIdle(t.app.spendProducer.queue, 600_000);
        const wall = performance.now() - started;
        loop.disable();
        const stalls = gaps.stop();
        clearInterval(rssTimer);
        results.push({
          body: body.name,
          rep,
          status: stdout,
          bytes: bytes.length,
          max_delay_ms: delayMs(loop.max),
          p99_delay_ms: delayMs(loop.percentile(99)),
          gc_ms: round(gc.total),
          gc_max_ms: round(gc.max),
          wall_ms: Math.round(wall),
          peak_rss_mb: Math.round(peakRss / 1024 / 1024),
          load1: round(load1),
          stalls_us: stalls,
        });
        rmSync(file);
        const { stalls_us, ...shown } = results[results.length - 1] as Measurement;
        console.error(JSON.stringify({ ...shown, stalls_over_50ms: stalls_us.length }));
      }
    }
    observer.disconnect();
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\n${formatTable(
      [
        'body',
        'rep',
        'status',
        'bytes',
        'max delay ms',
        'p99 ms',
        'GC ms',
        'GC max ms',
        'wall ms',
        'peak RSS MB',
        'load',
      ],
      results.map((r) => [
        r.body,
        r.rep,
        r.status,
        r.bytes,
        r.max_delay_ms,
        r.p99_delay_ms,
        r.gc_ms,
        r.gc_max_ms,
        r.wall_ms,
        r.peak_rss_mb,
        r.load1,
      ]),
    )}`,
  );
  const path = writeResult('ingest-stall', { machine, worker, resolution_ms: RESOLUTION_MS, results });
  console.log(`\nwritten to ${path}`);
}
