// Open-loop load: requests leave on a fixed schedule (request i at i/rate seconds) whether or not earlier
// ones have answered, and each latency is measured from its SCHEDULED send time. A closed-loop client that
// waits for answers slows down exactly when the server does and so never records the queueing it caused
// ("coordinated omission"); measuring from the schedule charges a stalled server for every request that
// should have been sent meanwhile. A closed loop is still the right tool for one question — the most the
// server can do — so `runClosedLoop` exists for the saturation run.

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
}

type Send = (index: number, scheduledAt: number) => Promise<CallOutcome>;

function collector() {
  const out: LoadOutcome = { latencies: [], ttfbs: [], ok: 0, errors: 0, firstError: null, elapsedMs: 0 };
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

/**
 * Calls `send` at `rate` per second for `durationMs`. The timer wakes at most every millisecond and sends
 * everything that is due, so a late wake-up sends a small burst rather than shifting the schedule.
 */
export async function runOpenLoop(rate: number, durationMs: number, send: Send): Promise<LoadOutcome> {
  const offsets = sendOffsets(rate, durationMs);
  const { out, record } = collector();
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now() - start;
      while (next < offsets.length && (offsets[next] as number) <= now) {
        const scheduledAt = start + (offsets[next] as number);
        pending.push(record(send(next, scheduledAt), scheduledAt));
        next += 1;
      }
      if (next >= offsets.length) return done();
      setTimeout(tick, Math.max(0, (offsets[next] as number) - (performance.now() - start)));
    };
    tick();
  });
  await Promise.all(pending);
  out.elapsedMs = performance.now() - start;
  return out;
}

/** `connections` callers each send the next request as soon as their previous one answered. */
export async function runClosedLoop(connections: number, durationMs: number, send: Send): Promise<LoadOutcome> {
  const { out, record } = collector();
  const start = performance.now();
  let index = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() - start < durationMs) {
        const sentAt = performance.now();
        await record(send(index++, sentAt), sentAt);
      }
    }),
  );
  out.elapsedMs = performance.now() - start;
  return out;
}
