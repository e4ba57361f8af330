// Open-loop load: requests leave on a fixed schedule (request i at i/rate seconds) whether or not earlier
// ones have answered, and each latency is measured from its SCHEDULED send time. A closed-loop client that
// waits for answers slows down exactly when the server does and so never records the queueing it caused
// ("coordinated omission"); measuring from the schedule charges a stalled server for every request that
// should have been sent meanwhile. A closed loop is still the right tool for one question — the most the
// server can do — so `runClosedLoop` exists for the saturation run.
import { setMaxListeners } from 'node:events';

/** Send offsets in ms from the start: request i at i · 1000 / rate, for every i below rate · duration. */
export function sendOffsets(rate: number, durationMs: number): number[] {
  if (!(rate > 0) || !(durationMs > 0)) throw new RangeError('rate and duration must be positive');
  const count = Math.floor((rate * durationMs) / 1000);
  return Array.from({ length: count }, (_, i) => (i * 1000) / rate);
}

export interface CallOutcome {
  ok: boolean;
  /** Absolute performance.now() of the first response byte (streams: the first body chunk). */
  firstByteAt?: number;
  error?: string;
}

export interface LoadOutcome {
  /** Latency per successful call, ms from its scheduled send time (closed loop: from its actual send). */
  latencies: number[];
  /** Time to first byte per successful call, same origin as latencies. */
  ttfbs: number[];
  ok: number;
  errors: number;
  firstError: string | null;
  /** From the first scheduled send to the last answer. */
  elapsedMs: number;
  /** Open loop only: requests sent (fewer than scheduled when the step was cut off). */
  sent: number;
  /** Open loop only: ms after the start at which sending stopped because the server fell behind; else null. */
  cutOffAtMs: number | null;
}

/** `signal` aborts a call still unanswered when the drain after a cut-off runs out (it then counts as an error). */
type Send = (index: number, scheduledAt: number, signal: AbortSignal) => Promise<CallOutcome>;

function collector() {
  const out: LoadOutcome = {
    latencies: [],
    ttfbs: [],
    ok: 0,
    errors: 0,
    firstError: null,
    elapsedMs: 0,
    sent: 0,
    cutOffAtMs: null,
  };
  const record = async (promise: Promise<CallOutcome>, origin: number) => {
    let outcome: CallOutcome;
    try {
      outcome = await promise;
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    const end = performance.now();
    if (outcome.ok) {
      out.ok += 1;
      out.latencies.push(end - origin);
      if (outcome.firstByteAt !== undefined) out.ttfbs.push(outcome.firstByteAt - origin);
    } else {
      out.errors += 1;
      out.firstError ??= outcome.error ?? 'error';
    }
  };
  return { out, record };
}

export interface OpenLoopOptions {
  /**
   * Overload cut-off: once the oldest unanswered request was scheduled this long ago, the server is not
   * keeping up — sending stops (the step is reported as overloaded) instead of queueing the rest of the
   * schedule. What is in flight then is at most about cutoffMs × the rate the server does serve, so the
   * drain that follows is short. Infinity: never cut.
   */
  cutoffMs: number;
  /** After the schedule ends (or is cut), how long to wait for answers before aborting the rest. */
  drainMs: number;
}

const NO_CUTOFF: OpenLoopOptions = { cutoffMs: Number.POSITIVE_INFINITY, drainMs: Number.POSITIVE_INFINITY };

/**
 * Tracks which requests are unanswered, in schedule order, so that the age of the oldest one is O(1) to read
 * (requests answer out of order; the pointer only moves forward past answered ones).
 */
export class Backlog {
  private readonly answered: Uint8Array;
  private oldest = 0;
  private sent = 0;

  constructor(count: number) {
    this.answered = new Uint8Array(count);
  }

  markSent(index: number): void {
    this.sent = index + 1;
  }

  markAnswered(index: number): void {
    this.answered[index] = 1;
    while (this.oldest < this.sent && this.answered[this.oldest] === 1) this.oldest += 1;
  }

  /** Index of the oldest sent and unanswered request, or null when everything sent has answered. */
  oldestUnanswered(): number | null {
    return this.oldest < this.sent ? this.oldest : null;
  }
}

/**
 * Calls `send` at `rate` per second for `durationMs`. The timer wakes at most every millisecond and sends
 * everything that is due, so a late wake-up sends a small burst rather than shifting the schedule.
 */
export async function runOpenLoop(
  rate: number,
  durationMs: number,
  send: Send,
  options: OpenLoopOptions = NO_CUTOFF,
): Promise<LoadOutcome> {
  const offsets = sendOffsets(rate, durationMs);
  const { out, record } = collector();
  const backlog = new Backlog(offsets.length);
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every call in flight listens to it (no leak: listeners go as calls end)
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now() - start;
      const oldest = backlog.oldestUnanswered();
      if (oldest !== null && now - (offsets[oldest] as number) > options.cutoffMs) {
        out.cutOffAtMs = Math.round(now);
        return done();
      }
      while (next < offsets.length && (offsets[next] as number) <= now) {
        const index = next;
        const scheduledAt = start + (offsets[index] as number);
        backlog.markSent(index);
        const call = send(index, scheduledAt, abort.signal).finally(() => backlog.markAnswered(index));
        pending.push(record(call, scheduledAt));
        next += 1;
      }
      if (next >= offsets.length) return done();
      // While requests are out, wake at least every 10 ms to check the cut-off even between sparse sends.
      const due = (offsets[next] as number) - (performance.now() - start);
      setTimeout(tick, Math.max(0, backlog.oldestUnanswered() === null ? due : Math.min(due, 10)));
    };
    tick();
  });
  out.sent = next;
  let drainTimer: NodeJS.Timeout | undefined;
  if (Number.isFinite(options.drainMs)) drainTimer = setTimeout(() => abort.abort(), options.drainMs);
  await Promise.all(pending);
  clearTimeout(drainTimer);
  out.elapsedMs = performance.now() - start;
  return out;
}

const never = new AbortController().signal;

/** `connections` callers each send the next request as soon as their previous one answered. */
export async function runClosedLoop(connections: number, durationMs: number, send: Send): Promise<LoadOutcome> {
  const { out, record } = collector();
  const start = performance.now();
  let index = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() - start < durationMs) {
        const sentAt = performance.now();
        await record(send(index++, sentAt, never), sentAt);
      }
    }),
  );
  out.elapsedMs = performance.now() - start;
  out.sent = index;
  return out;
}
