// `serve --workers N`: a primary process forks N server processes (node:cluster) that share one listening
// socket, so one port uses every core. Node 20's net.listen has no SO_REUSEPORT option (`reusePort` came in
// 22.12), and node:cluster also gives what a supervisor needs: exit events, signals, a shared port 0.
// The primary serves nothing itself: it applies migrations before forking (main.ts), prints the banner when
// the first process listens, hands each new connection to the next process (cluster's default round robin
// on Linux: a keep-alive connection stays with one process), restarts a process that dies with a growing
// delay, and on SIGTERM/SIGINT forwards SIGTERM and exits once every process has finished its calls and
// flushed its records (each runs the single-process shutdown: app.close()).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { answerClusterMetrics, CLUSTER_METRICS_ENV } from '../metrics/clusterMetrics.js';
import { backoffDelay } from '../retry.js';

/** A process that lived this long before dying was healthy: the next restart starts from the first delay. */
export const STABLE_AFTER_MS = 60_000;
/** Each process forces its own exit after 30 s of shutdown (main.ts); the primary waits a little longer. */
const SHUTDOWN_GRACE_MS = 35_000;

/** Delay before replacing a process that died: 0.5 s, doubling with each death in a row, at most 30 s. */
export function restartDelayMs(consecutiveDeaths: number): number {
  return backoffDelay(consecutiveDeaths, { baseMs: 500, maxMs: 30_000 });
}

/** `--workers`: a whole number ≥ 1, or `auto` (the cores this process may use, os.availableParallelism). */
export function parseWorkerCount(value: string | undefined, fallback: number | 'auto'): number | Error {
  const given = value ?? String(fallback);
  if (given === 'auto') return availableParallelism();
  if (!/^\d+$/.test(given) || Number(given) < 1 || Number(given) > 1024)
    return new Error(`--workers: expected a whole number from 1 to 1024 or "auto", got "${given}"`);
  return Number(given);
}

/** Where the processes listen, as cluster reports it (`address` is the host given to listen). */
export interface ListenAddress {
  address: string;
  port: number;
}

export interface ServerProcessesOptions {
  count: number;
  /** Added to each forked process's environment (e.g. the URLs of the local services `start` launched). */
  env?: NodeJS.ProcessEnv;
  /** Called once, when the first process listens (the banner). */
  onListening(address: ListenAddress): void;
  /** Runs once every process has exited, before the primary exits (stops `start`'s local services). */
  onStopped?(): Promise<void>;
  log?(line: string): void;
}

/**
 * Runs the primary until a signal stops it; never returns. The processes re-run this CLI with the same
 * arguments (cluster's default `exec`), see `cluster.isWorker` and serve (main.ts).
 */
export function runServerProcesses(opts: ServerProcessesOptions): void {
  const log = opts.log ?? ((line: string) => console.log(`[spendhouse] ${line}`));
  const startedAt = new Map<Worker, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let consecutiveDeaths = 0;
  let listened = false;
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    const worker = cluster.fork({ ...opts.env, [CLUSTER_METRICS_ENV]: '1' });
    startedAt.set(worker, Date.now());
  };
  const finishIfDone = () => {
    if (!stopping || startedAt.size > 0) return;
    void (opts.onStopped?.() ?? Promise.resolve()).finally(() => process.exit(exitCode));
  };
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    log(`${reason}: stopping ${startedAt.size} server process(es)…`);
    for (const timer of restarts) clearTimeout(timer);
    for (const worker of startedAt.keys()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      log(`${startedAt.size} server process(es) still running after ${SHUTDOWN_GRACE_MS / 1000} s: killing them`);
      for (const worker of startedAt.keys()) worker.process.kill('SIGKILL');
      exitCode = 1;
    }, SHUTDOWN_GRACE_MS).unref();
    finishIfDone();
  };

  cluster.on('listening', (worker, address) => {
    if (!listened) opts.onListening(address);
    listened = true;
    log(`server process ${worker.process.pid} listening`);
  });
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      // SIGTERM kills a process that was still booting (its handlers come with its port): it held no calls.
      if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
      finishIfDone();
      return;
    }
    // No process ever came up (bad config, ClickHouse unreachable, port taken): fail as one process would.
    if (!listened) return stop(`server process ${worker.process.pid} failed to start (${how})`, code || 1);
    consecutiveDeaths = lived >= STABLE_AFTER_MS ? 1 : consecutiveDeaths + 1;
    const delay = restartDelayMs(consecutiveDeaths);
    log(`server process ${worker.process.pid} exited (${how}); starting another in ${delay / 1000} s`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork();
    }, delay);
    restarts.add(timer);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(signal, 0));
  // A scrape of /metrics on any process is merged over all of them here (src/metrics/clusterMetrics.ts).
  answerClusterMetrics(log);
  for (let i = 0; i < opts.count; i++) fork();
}
