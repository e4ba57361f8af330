// How much GET /spend/anomalies judges at once: one home for the API's check (routes.ts) and the dashboard's
// "Unusual spend" card, which says "pick a shorter range" instead of asking for a window the API refuses.
// Pure and import-free (types aside), so the dashboard bundle may import it.
import type { AnomalyGranularity } from './series.js';

export const ANOMALY_WINDOWS: Record<AnomalyGranularity, { sizeMs: number; maxBuckets: number }> = {
  day: { sizeMs: 86_400_000, maxBuckets: 31 },
  hour: { sizeMs: 3_600_000, maxBuckets: 48 },
};

/** The last complete bucket (day or hour) before `nowMs`. */
export function lastComplete(granularity: AnomalyGranularity, nowMs: number): number {
  const size = ANOMALY_WINDOWS[granularity].sizeMs;
  return Math.floor(nowMs / size) * size - size;
}

/**
 * The buckets [fromMs, toMs) touches, up to the last complete one at `nowMs` (buckets not yet complete are
 * never judged): the first bucket's start and how many.
 */
export function anomalyBuckets(granularity: AnomalyGranularity, fromMs: number, toMs: number, nowMs: number) {
  const size = ANOMALY_WINDOWS[granularity].sizeMs;
  const first = Math.floor(fromMs / size) * size;
  const last = Math.min(Math.ceil(toMs / size) * size - size, lastComplete(granularity, nowMs));
  return { first, count: Math.max(0, (last - first) / size + 1) };
}
