// The anomaly test, kept pure: a bucket's spend against its own trailing baseline, with a robust scale so one
// earlier spike does not hide the next one. score = (spend − median) / scale, scale = 1.4826 × MAD (the
// median absolute deviation, scaled to a standard deviation for normal data), floored at 5% of the median
// (a perfectly flat baseline has MAD 0: a 20% jump over it is then a score of 4) and at 1 nano-USD. Only
// spikes count (spend above the baseline): FinOps asks "what spent more than usual", not "what went quiet".
export interface AnomalyThresholds {
  zThreshold: number;
  minExcessNano: number;
  /**
   * A baseline with fewer buckets of spend than this is not judged (a series days old); nor is one whose
   * median is 0 (it spends on fewer than half its buckets: any bucket it spends in would be "unusual").
   */
  minPoints: number;
}

export interface Verdict {
  expectedNano: number;
  excessNano: number;
  score: number;
  anomalous: boolean;
}

const MAD_TO_SIGMA = 1.4826;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return 0;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : Math.round(((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2);
}

/** null when the baseline is too short to judge. */
export function judge(spendNano: number, baselineNano: readonly number[], t: AnomalyThresholds): Verdict | null {
  if (baselineNano.filter((v) => v !== 0).length < t.minPoints) return null;
  const expected = median(baselineNano);
  if (expected <= 0) return null;
  const mad = median(baselineNano.map((v) => Math.abs(v - expected)));
  const scale = Math.max(MAD_TO_SIGMA * mad, 0.05 * expected, 1);
  const excess = spendNano - expected;
  const score = excess / scale;
  return {
    expectedNano: expected,
    excessNano: excess,
    score,
    anomalous: score >= t.zThreshold && excess >= t.minExcessNano,
  };
}
