// JSON body stall benchmark (issue 16: no request may hold the event loop past 50 ms). Two fastify servers in
// this process with the app's JSON body parser (src/http/jsonBody.ts) and a route that only answers: one
// parses every body on the main thread (the parser before the worker: `main`), one with the default worker
// threshold (`worker`). Each body is sent with curl (a separate process: the client's work is not on the
// loop measured). Per body: the longest event-loop delay, the parser's own main-thread time (all of it, and
// its longest single step, from the spendhouse:json-body diagnostics channel), the longest GC pause, wall time
// and the load average.
// Shapes: `string` (one base64 image, a vision call) and `objects` (chat messages of ~50 bytes each).
//   npm run bench -- json-stall [--reps 3] [--sizes 1,4,10] [--shapes string,objects] [--modes main,worker]
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerErrorHandler } from '../src/http/errorHandler.js';
import { registerJsonBodyParser } from '../src/http/jsonBody.js';
import type { JsonBodyTiming } from '../src/http/jsonParsePool.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';

const execFileAsync = promisify(execFile);
const MIB = 1024 * 1024;
/** Timer resolution of the delay histogram, ms (what it reports beyond this is the delay). */
const RESOLUTION_MS = 2;

const SHAPES: Record<string, (bytes: number) => string> = {
  string: (bytes) => {
    const image = Buffer.alloc(Math.floor(((bytes - 300) * 3) / 4), 7).toString('base64');
    return JSON.stringify({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
          ],
        },
      ],
    });
  },
  objects: (bytes) => {
    const messages: { role: string; content: string }[] = [];
    for (let size = 40; size < bytes - 60; size += 62) {
      const i = messages.length;
      messages.push({ role: i % 2 ? 'assistant' : 'user', content: `message ${String(i).padStart(7, '0')} hi` });
    }
    return JSON.stringify({ model: 'gpt-4o', messages });
  },
};

async function server(workerFromBytes: number): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ bodyLimit: 12 * MIB });
  registerErrorHandler(app);
  registerJsonBodyParser(app, { workerFromBytes });
  app.post('/body', async (request) => ({ ok: typeof request.body === 'object' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}/body` };
}

interface Row {
  mode: string;
  shape: string;
  mb: number;
  rep: number;
  status: string;
  max_delay_ms: number;
  gc_max_ms: number;
  parse_main_ms: number;
  parse_max_step_ms: number;
  steps: number;
  wall_ms: number;
  load1: number;
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      reps: { type: 'string', default: '3' },
      sizes: { type: 'string', default: '1,4,10' },
      shapes: { type: 'string', default: 'string,objects' },
      modes: { type: 'string', default: 'main,worker' },
    },
  });
  const reps = Number(values.reps);
  const dir = mkdtempSync(join(tmpdir(), 'json-stall-'));
  const servers = {
    main: await server(Number.POSITIVE_INFINITY),
    worker: await server(1 * MIB),
  } as Record<string, { app: FastifyInstance; url: string }>;
  const rows: Row[] = [];
  let timing: JsonBodyTiming | null = null;
  const onTiming = (message: unknown) => {
    timing = message as JsonBodyTiming;
  };
  subscribe('spendhouse:json-body', onTiming);
  // The longest GC pause in each window: building a large value on the main thread is followed by GC.
  let gcMax = 0;
  let windowStart = 0;
  const gc = new PerformanceObserver((list) => {
    // Entries arrive late: the forced collection before a window is not the window's.
    for (const entry of list.getEntries()) if (entry.startTime >= windowStart) gcMax = Math.max(gcMax, entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  try {
    for (const shape of values.shapes.split(',')) {
      for (const mb of values.sizes.split(',').map(Number)) {
        const file = join(dir, `${shape}-${mb}`);
        writeFileSync(file, (SHAPES[shape] as (bytes: number) => string)(Math.floor(mb * MIB) - 1024));
        for (let rep = 0; rep < reps; rep++) {
          for (const mode of values.modes.split(',')) {
            const target = servers[mode];
            if (!target) throw new Error(`unknown mode ${mode}`);
            // Settle: the previous body's garbage is not this one's.
            globalThis.gc?.();
            timing = null;
            gcMax = 0;
            const load1 = loadavg()[0] ?? 0;
            const curl = execFileAsync(
              'curl',
              [
                '-s',
                '-o',
                '/dev/null',
                '-w',
                '%{http_code}',
                '-H',
                'content-type: application/json',
                '--data-binary',
                `@${file}`,
                target.url,
              ],
              { maxBuffer: MIB },
            );
            const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
            const started = performance.now();
            windowStart = started;
            loop.enable();
            const { stdout } = await curl.catch((err: { stdout?: string }) => ({
              stdout: err.stdout ?? 'curl failed',
            }));
            loop.disable();
            // The window's GC entries are delivered on a later turn.
            await new Promise((resolve) => setImmediate(resolve));
            const seen = timing as JsonBodyTiming | null;
            rows.push({
              mode,
              shape,
              mb,
              rep,
              status: stdout,
              max_delay_ms: round(Math.max(0, loop.max / 1e6 - RESOLUTION_MS)),
              gc_max_ms: round(gcMax),
              parse_main_ms: round(seen?.main_ms ?? Number.NaN),
              parse_max_step_ms: round(seen?.max_step_ms ?? Number.NaN),
              steps: seen?.steps ?? 0,
              wall_ms: Math.round(performance.now() - started),
              load1: round(load1),
            });
            console.error(JSON.stringify(rows[rows.length - 1]));
          }
        }
      }
    }
  } finally {
    unsubscribe('spendhouse:json-body', onTiming);
    gc.disconnect();
    await Promise.all(Object.values(servers).map((s) => s.app.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\n${formatTable(
      [
        'mode',
        'shape',
        'MB',
        'rep',
        'status',
        'max delay ms',
        'GC max ms',
        'parse main ms',
        'longest step ms',
        'steps',
        'wall ms',
        'load',
      ],
      rows.map((r) => [
        r.mode,
        r.shape,
        r.mb,
        r.rep,
        r.status,
        r.max_delay_ms,
        r.gc_max_ms,
        r.parse_main_ms,
        r.parse_max_step_ms,
        r.steps,
        r.wall_ms,
        r.load1,
      ]),
    )}`,
  );
  const path = writeResult('json-stall', { machine: machineInfo(), resolution_ms: RESOLUTION_MS, rows });
  console.log(`\nwritten to ${path}`);
}
