// Preloaded into each Spendhouse process the proxy suite starts (`node --import tsx --import <this>`): it
// watches that process's event loop (perf_hooks.monitorEventLoopDelay) and its garbage collections, and on
// each 'probe' IPC message from the suite answers with what it saw since the previous one, then resets.
// A proxy that waits rather than computes shows it here: long loop delays with idle CPU mean something
// blocks the loop in bursts (a GC pause, a large synchronous batch); short delays mean the wait is outside.
// Under `serve --workers N` it is preloaded into the primary and every server process it forks (they inherit
// its node flags): the primary asks each over cluster IPC and answers the suite with the worst of them all.
import cluster, { type Worker } from 'node:cluster';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface LoopReport {
  /** Event-loop delay percentiles over the span, ms (10 ms resolution timer; 0 = never late). */
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  /** Time spent in garbage collection over the span, and the longest single pause, ms. */
  gcMs: number;
  gcMaxMs: number;
  /** Major (mark-compact) collections over the span. */
  gcMajor: number;
}

// ns → ms; the histogram reports the delay beyond the 10 ms resolution, its minimum is about 10 ms.
const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - RESOLUTION_MS) * 100) / 100;
const RESOLUTION_MS = 10;
const MAJOR_GC = 4; // perf_hooks.constants.NODE_PERFORMANCE_GC_MAJOR

/** The worst event loop of several processes, GC summed. */
export function worstLoop(reports: LoopReport[]): LoopReport {
  return {
    delayP50Ms: Math.max(...reports.map((r) => r.delayP50Ms)),
    delayP99Ms: Math.max(...reports.map((r) => r.delayP99Ms)),
    delayMaxMs: Math.max(...reports.map((r) => r.delayMaxMs)),
    gcMs: reports.reduce((n, r) => n + r.gcMs, 0),
    gcMaxMs: Math.max(...reports.map((r) => r.gcMaxMs)),
    gcMajor: reports.reduce((n, r) => n + r.gcMajor, 0),
  };
}

/** A forked server process's report, or null if it does not answer within 2 s (it died meanwhile). */
function probeForked(worker: Worker): Promise<LoopReport | null> {
  return new Promise((resolve) => {
    const done = (report: LoopReport | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(report);
    };
    const onMessage = (message: { probe?: LoopReport }) => {
      if (message?.probe) done(message.probe);
    };
    const timer = setTimeout(() => done(null), 2000);
    worker.on('message', onMessage);
    worker.send('probe');
  });
}

if (process.send) {
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  let gc = { total: 0, max: 0, major: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.total += entry.duration;
      gc.max = Math.max(gc.max, entry.duration);
      if ((entry as { detail?: { kind?: number } }).detail?.kind === MAJOR_GC) gc.major += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  const take = (): LoopReport => {
    const report: LoopReport = {
      delayP50Ms: ms(loop.percentile(50)),
      delayP99Ms: ms(loop.percentile(99)),
      delayMaxMs: ms(loop.max),
      gcMs: Math.round(gc.total),
      gcMaxMs: Math.round(gc.max * 10) / 10,
      gcMajor: gc.major,
    };
    loop.reset();
    gc = { total: 0, max: 0, major: 0 };
    return report;
  };
  if (cluster.isWorker) {
    // Asked by the primary (whose probe below asks every forked process).
    process.on('message', (message) => {
      if (message === 'probe') process.send?.({ probe: take() });
    });
  } else {
    process.on('message', async (message) => {
      if (message !== 'probe') return;
      const own = take();
      const forked = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      const theirs = (await Promise.all(forked.map(probeForked))).filter((r): r is LoopReport => r !== null);
      process.send?.({ probe: worstLoop([own, ...theirs]) });
    });
    // The IPC channel must not keep a Spendhouse that was told to stop alive.
    process.channel?.unref();
  }
}
