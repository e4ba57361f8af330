// Latency statistics from raw samples (no histogram, no bucketing error). Percentiles use the NEAREST-RANK
// method: the p-th percentile of n sorted samples is the value at rank ceil(p/100 · n) (1-based), so it is
// always a value that was actually observed, p100 is the maximum and p50 of [1,2,3,4] is 2.
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  // rounded first so float noise (99.9 / 100 × 1000 = 999.0000000000001) cannot push the rank up by one
  const rank = Math.max(1, Math.ceil(Math.round((p / 100) * sorted.length * 1e6) / 1e6));
  return sorted[rank - 1] as number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Sorts a copy of the samples (milliseconds) and reports the usual percentiles, rounded to 0.01 ms. */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  const round = (x: number) => Math.round(x * 100) / 100;
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    count: values.length,
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p99: round(percentile(values, 99)),
    max: round(percentile(values, 100)),
    mean: round(values.length ? sum / values.length : Number.NaN),
  };
}
