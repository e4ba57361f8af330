// The contract between a benchmark and its load-generator child process (bench/lib/loadGeneratorChild.ts).
import type { LatencySummary } from './stats.js';

export interface LoadRequest {
  path: string;
  /** JSON; `"stream": true` in it makes the call a stream (time to first token is measured). */
  body: string;
}

export interface LoadJob {
  /** `http://host:port` of each instance; request i goes to origins[i % length] (a round-robin balancer). */
  origins: string[];
  /** Bearer token sent with every request. */
  key: string;
  /** POSTed in turn (request i is requests[i % length]). */
  requests: LoadRequest[];
  /** open: `rate` requests per second on a fixed schedule; closed: `connections` back-to-back callers. */
  mode: 'open' | 'closed';
  rate: number;
  /** Keep-alive connections per origin (closed loop: the number of callers, spread over the origins). */
  connections: number;
  durationMs: number;
  /** Open loop: stop sending once the oldest unanswered request is this old (bench/lib/openLoop.ts). */
  cutoffMs: number;
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
  /** Requests sent; an open-loop step that was cut off sent fewer than rate × duration. */
  sent: number;
  /** Open loop: seconds into the step at which it was cut off as overloaded; null when it kept up. */
  cutOffAtS: number | null;
}
