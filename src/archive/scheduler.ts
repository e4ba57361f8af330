// The worker's archive loop: every interval, find closed windows that are new or changed since their
// export (late records) and export them, oldest first. A failure fails the pass (nothing is skipped), is
// shown in the status, and the next pass comes sooner, backing off up to the interval.
// A failed window never blocks later ones; it stays pending and is retried on the next pass.

import { asError, backoffDelay } from '../retry.js';
import { type ArchiveContext, closedBefore, exportWindows, STORE_BACKOFF, type WindowResult } from './exporter.js';
import { windowLabel } from './layout.js';
import { isCurrent, readManifest } from './manifest.js';
import { candidateFingerprints } from './source.js';

/** Late inserts are found by inserted_at; this margin absorbs clock skew and inserts still in flight. */
const INSERTED_AT_MARGIN_SECONDS = 15 * 60;

export interface ArchiveStatus {
  destination: string;
  running: boolean;
  lastPassAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  windowsExported: number;
  /** Windows waiting because another worker held their lock or an earlier window failed. */
  pending: number;
}

export interface PassResult {
  candidates: number;
  results: WindowResult[];
}

export class ArchiveScheduler {
  readonly status: ArchiveStatus;
  private newSince = 0;
  private insertedSince = 0;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<PassResult> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: ArchiveContext,
    private readonly log: (msg: string, data?: Record<string, unknown>) => void = () => {},
  ) {
    this.status = {
      destination: ctx.destination,
      running: false,
      lastPassAt: null,
      lastSuccessAt: null,
      consecutiveFailures: 0,
      lastError: null,
      windowsExported: 0,
      pending: 0,
    };
    // Store retries show up in the status while they happen, not only when a pass gives up.
    ctx.backoff = {
      ...(ctx.backoff ?? STORE_BACKOFF),
      onRetry: (err) => {
        this.status.lastError = `archive store: ${err.message}`;
      },
    };
  }

  /** One pass; concurrent callers share the pass in flight. */
  runOnce(nowSeconds = Date.now() / 1000): Promise<PassResult> {
    this.pass ??= this.doPass(nowSeconds).finally(() => {
      this.pass = null;
    });
    return this.pass;
  }

  private async doPass(nowSeconds: number): Promise<PassResult> {
    const { ctx } = this;
    const startedAt = Math.floor(nowSeconds);
    const closed = closedBefore(ctx.settings, nowSeconds);
    this.status.running = true;
    this.status.lastPassAt = new Date().toISOString();
    const results: WindowResult[] = [];
    try {
      const scan = { newSince: this.newSince, insertedSince: this.insertedSince, closedBefore: closed };
      const candidates = await candidateFingerprints(ctx.warehouse, ctx.settings.windowSeconds, scan);
      const first = candidates[0]?.windowStart ?? 0;
      const manifest = await readManifest(ctx.warehouse, ctx.destination, first, closed);
      const stale = candidates.filter((c) => !isCurrent(manifest.get(c.windowStart), c));
      this.status.pending = stale.length;
      const failures: string[] = [];
      await exportWindows(ctx, stale, false, (windowStart, outcome) => {
        if (outcome instanceof Error) {
          // Later windows still go (one bad window must not hold the archive back); this one stays
          // pending and the pass reports failure, so it is retried and nothing is skipped.
          failures.push(`${windowLabel(windowStart)}: ${outcome.message}`);
          return;
        }
        results.push(outcome);
        if (outcome.outcome === 'exported') {
          this.status.windowsExported++;
          this.log('archive window exported', { window: windowLabel(windowStart), rows: outcome.rows });
        }
        if (outcome.outcome !== 'locked') this.status.pending--;
      });
      if (failures.length) throw new Error(`archive export failed for ${failures.join('; ')}`);
      // Advance only when every candidate is settled; a locked window is looked at again next pass.
      if (this.status.pending === 0) {
        this.newSince = closed;
        this.insertedSince = startedAt - INSERTED_AT_MARGIN_SECONDS;
      }
      this.status.consecutiveFailures = 0;
      this.status.lastError = null;
      this.status.lastSuccessAt = new Date().toISOString();
      return { candidates: stale.length, results };
    } catch (err) {
      this.status.consecutiveFailures++;
      this.status.lastError = asError(err).message;
      throw err;
    } finally {
      this.status.running = false;
    }
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.ctx.settings.intervalSeconds * 1000);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce().then(
        () => this.schedule(this.ctx.settings.intervalSeconds * 1000),
        (err: Error) => {
          const failures = this.status.consecutiveFailures;
          const delay = backoffDelay(failures, { baseMs: 5000, maxMs: this.ctx.settings.intervalSeconds * 1000 });
          this.log('archive pass failed; retrying', { error: err.message, retryInMs: delay });
          this.schedule(delay);
        },
      );
    }, delayMs);
    // The loop never keeps a process alive on its own (CLI runs, tests).
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass?.catch(() => undefined);
  }
}
