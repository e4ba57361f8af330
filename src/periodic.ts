// A background task on a timer: run every `everyMs` (and once `firstAfterMs` after the start, when given),
// its failures handed to `onError` and never thrown, its timers never holding the process open. The plugins'
// periodic work (alerts, budget watch, reconciliation, anomalies, retention) runs through it.
import type { FastifyInstance } from 'fastify';

export interface PeriodicOptions {
  everyMs: number;
  /** A first run this long after the start (default: none before the first interval). */
  firstAfterMs?: number;
  onError(err: unknown): void;
}

/** Starts the timers now; the returned function stops them. */
export function startPeriodic(task: () => Promise<void>, options: PeriodicOptions): () => void {
  const tick = () => {
    task().catch(options.onError);
  };
  const first = options.firstAfterMs === undefined ? null : setTimeout(tick, options.firstAfterMs);
  const every = setInterval(tick, options.everyMs);
  first?.unref();
  every.unref();
  return () => {
    if (first) clearTimeout(first);
    clearInterval(every);
  };
}

/** Starts the task once the app is ready and stops it when the app closes. */
export function periodicTask(app: FastifyInstance, task: () => Promise<void>, options: PeriodicOptions): void {
  let stop: (() => void) | null = null;
  app.addHook('onReady', async () => {
    stop = startPeriodic(task, options);
  });
  app.addHook('onClose', async () => {
    stop?.();
  });
}
