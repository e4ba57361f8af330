// The contract between a benchmark and its load-generator child process (bench/lib/loadGeneratorChild.ts).
import type { LatencySummary } from './stats.js';

export interface LoadJob {
  /** `http://host:port` */
  origin: string;
  path: string;
  /** Bearer token sent with every request. */
  key: string;
  /** Request bodies, used in turn (request i gets bodies[i % length]). */
  bodies: string[];
  /** open: `rate` requests per second on a fixed schedule; closed: `connections` back-to-back callers. */
  mode: 'open' | 'closed';
  rate: number;
  connections: number;
  durationMs: number;
}

export interface LoadReport {
  ok: number;
  errors: number;
  firstError: string | null;
  /** Successful answers per second over the whole span (until the last answer arrived). */
  achievedRps: number;
  /** Whole-call latency, ms, from the scheduled send time (open loop) or the actual send (closed loop). */
  latency: LatencySummary;
  /** Time to the first body chunk of streamed calls, same origin as `latency`; null without streams. */
  ttft: LatencySummary | null;
}
