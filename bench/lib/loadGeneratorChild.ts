// Child process: an open-loop (or closed-loop) HTTP load generator on undici. It receives LoadJobs over IPC
// and answers each with a LoadReport, keeping its connection pools warm between jobs. Running it apart from
// the parent keeps the measuring code off the event loop that issues requests.
import { Pool } from 'undici';
import type { LoadJob, LoadReport, LoadRequest } from './loadJob.js';
import { type CallOutcome, runClosedLoop, runOpenLoop } from './openLoop.js';
import { summarize } from './stats.js';

/** After an open-loop schedule ends (or is cut off), answers still missing after this are aborted. */
const DRAIN_MS = 30_000;

const pools = new Map<string, Pool>();
function poolFor(origin: string, connections: number): Pool {
  const id = `${origin}#${connections}`;
  let pool = pools.get(id);
  if (!pool) {
    pool = new Pool(origin, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
    pools.set(id, pool);
  }
  return pool;
}

async function runJob(job: LoadJob): Promise<LoadReport> {
  const perOrigin = job.mode === 'closed' ? Math.ceil(job.connections / job.origins.length) : job.connections;
  const pools = job.origins.map((origin) => poolFor(origin, perOrigin));
  const headers = { authorization: `Bearer ${job.key}`, 'content-type': 'application/json' };
  const streamed = job.requests.map((r) => (JSON.parse(r.body) as { stream?: boolean }).stream === true);
  const send = async (index: number, _scheduledAt: number, signal: AbortSignal): Promise<CallOutcome> => {
    const i = index % job.requests.length;
    const { path, body } = job.requests[i] as LoadRequest;
    const pool = pools[index % pools.length] as Pool;
    const res = await pool.request({ path, method: 'POST', headers, body, signal });
    let firstByteAt: number | undefined;
    let text = '';
    for await (const chunk of res.body) {
      firstByteAt ??= performance.now();
      if (res.statusCode !== 200) text += String(chunk);
    }
    if (res.statusCode !== 200) return { ok: false, error: `${res.statusCode} ${text.slice(0, 200)}` };
    return streamed[i] ? { ok: true, firstByteAt } : { ok: true };
  };
  const outcome =
    job.mode === 'open'
      ? await runOpenLoop(job.rate, job.durationMs, send, { cutoffMs: job.cutoffMs, drainMs: DRAIN_MS })
      : await runClosedLoop(job.connections, job.durationMs, send);
  return {
    ok: outcome.ok,
    errors: outcome.errors,
    firstError: outcome.firstError,
    achievedRps: Math.round(outcome.ok / (outcome.elapsedMs / 1000)),
    latency: summarize(outcome.latencies),
    ttft: outcome.ttfbs.length ? summarize(outcome.ttfbs) : null,
    sent: outcome.sent,
    cutOffAtS: outcome.cutOffAtMs === null ? null : Math.round(outcome.cutOffAtMs / 100) / 10,
  };
}

process.on('message', (job: LoadJob) => {
  runJob(job).then(
    (report) => process.send?.({ report }),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.send?.('ready');
