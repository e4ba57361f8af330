// Anomalies: each complete day (or hour) of spend per team, key, model and tag judged against its own
// trailing baseline (detect.ts) — for a day the 28 days before it (anomalies.baseline_days), for an hour
// the same hour of the 14 days before it (hourly spend follows the working day, so 3 a.m. is compared with
// 3 a.m.). Only series that spent in the judged buckets are read, with their baselines, in one query per
// dimension (the series of the costliest 1000 points in the judged buckets; each is judged on every judged
// bucket it spent in), so the work follows what happened, not how many keys exist.
import type { AlertNotifier } from '../alerts/notifier.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { FileConfig } from '../config/schema.js';
import { nanoToUsd, usdToNano } from '../spendRecord.js';
import { type AnomalyThresholds, judge } from './detect.js';
import { type AnomalyDimension, type AnomalyGranularity, spendSeries } from './series.js';
import { ANOMALY_WINDOWS, lastComplete } from './window.js';

const DAY_MS = ANOMALY_WINDOWS.day.sizeMs;
const HOURLY_BASELINE_DAYS = 14;
const MIN_POINTS = 7;
const TOP_SERIES = 1000;

export interface AnomalySettings {
  thresholds: AnomalyThresholds;
  baselineDays: number;
  alert: boolean;
}

export function resolveAnomalySettings(file: FileConfig): AnomalySettings {
  const section = file.anomalies;
  return {
    thresholds: {
      zThreshold: section.z_threshold ?? 3.5,
      minExcessNano: usdToNano(section.min_excess_usd ?? 1),
      minPoints: MIN_POINTS,
    },
    baselineDays: section.baseline_days ?? 28,
    alert: section.alert ?? true,
  };
}

export interface Anomaly {
  granularity: AnomalyGranularity;
  /** Start of the day / hour (ISO, UTC). */
  bucket: string;
  dimension: AnomalyDimension;
  /** The team id, key hash, model or tag. */
  value: string;
  cost_usd: string;
  /** The baseline's median. */
  expected_usd: string;
  excess_usd: string;
  /** Robust z-score, two decimals. */
  score: string;
  baseline_points: number;
}

export function baselineOf(granularity: AnomalyGranularity, bucketMs: number, baselineDays: number): number[] {
  const days = granularity === 'day' ? baselineDays : HOURLY_BASELINE_DAYS;
  return Array.from({ length: days }, (_, k) => bucketMs - (k + 1) * DAY_MS);
}

export async function findAnomalies(
  warehouse: Warehouse,
  settings: AnomalySettings,
  granularity: AnomalyGranularity,
  dimensions: readonly AnomalyDimension[],
  targets: readonly number[],
): Promise<Anomaly[]> {
  // The dimensions are independent questions: asked at once, the answer waits for the slowest, not the sum.
  const perDimension = await Promise.all(
    dimensions.map((dimension) => dimensionAnomalies(warehouse, settings, granularity, dimension, targets)),
  );
  return perDimension
    .flat()
    .sort((a, b) => b.rank - a.rank || a.bucket.localeCompare(b.bucket))
    .map(({ rank: _, ...a }) => a);
}

async function dimensionAnomalies(
  warehouse: Warehouse,
  settings: AnomalySettings,
  granularity: AnomalyGranularity,
  dimension: AnomalyDimension,
  targets: readonly number[],
): Promise<(Anomaly & { rank: number })[]> {
  const found: (Anomaly & { rank: number })[] = [];
  const baselineBuckets = new Set(targets.flatMap((t) => baselineOf(granularity, t, settings.baselineDays)));
  const buckets = [...new Set([...targets, ...baselineBuckets])].sort((a, b) => a - b);
  // One read: the series with the costliest points in the targets, each with its spend in every bucket.
  const series = await spendSeries(warehouse, granularity, dimension, buckets, {
    costliest: TOP_SERIES,
    among: targets,
  });
  const index = new Map(buckets.map((b, i) => [b, i]));
  const at = (b: number) => index.get(b) ?? -1;
  const plans = targets.map((t) => ({
    t,
    at: at(t),
    baseline: baselineOf(granularity, t, settings.baselineDays).map(at),
  }));
  for (const { value, totals } of series) {
    // Before a series' first spend it did not exist: those buckets are no baseline of zeros.
    const first = buckets.findIndex((b, i) => totals[i] !== 0 && baselineBuckets.has(b));
    const firstSeen = first < 0 ? Number.POSITIVE_INFINITY : (buckets[first] ?? 0);
    for (const plan of plans) {
      const spend = totals[plan.at] ?? 0;
      // A judged bucket is above its baseline's median (> 0) by at most its own spend: one that spent less
      // than the minimum excess cannot be anomalous, and most of 1,000 keys' days are such.
      if (spend <= 0 || spend < settings.thresholds.minExcessNano) continue;
      const baseline = plan.baseline.filter((i) => (buckets[i] ?? 0) >= firstSeen).map((i) => totals[i] ?? 0);
      const verdict = judge(spend, baseline, settings.thresholds);
      if (!verdict?.anomalous) continue;
      found.push({
        granularity,
        bucket: new Date(plan.t).toISOString(),
        dimension,
        value,
        cost_usd: nanoToUsd(spend),
        expected_usd: nanoToUsd(verdict.expectedNano),
        excess_usd: nanoToUsd(verdict.excessNano),
        score: verdict.score.toFixed(2),
        baseline_points: baseline.length,
        rank: verdict.score,
      });
    }
  }
  return found;
}

/**
 * More than this in one bucket is a storm, not news: its highest scores are sent, the rest are in the API.
 * Also the most a pass sends per granularity.
 */
const MAX_ALERTS_PER_PASS = 20;
/**
 * Complete hours judged by each pass: an hour whose spend lands late (a batch import, ingest lag, a worker
 * down) is still alerted when it lands within this many hours of the hour's end.
 */
export const ALERT_HOURS_BACK = 6;
/** Complete days judged by each pass: yesterday, and the day before for spend of its last hours landing late. */
export const ALERT_DAYS_BACK = 2;
/** Once per anomaly: longer than any judged bucket stays among the last ALERT_HOURS_BACK / ALERT_DAYS_BACK. */
const ALERT_DEDUP_SECONDS = 8 * 86_400;

/** The last `count` complete buckets before `nowMs`, newest first. */
export function lastCompleteBuckets(granularity: AnomalyGranularity, nowMs: number, count: number): number[] {
  const size = ANOMALY_WINDOWS[granularity].sizeMs;
  const last = lastComplete(granularity, nowMs);
  return Array.from({ length: count }, (_, k) => last - k * size);
}

/**
 * Judges the last ALERT_HOURS_BACK complete hours and ALERT_DAYS_BACK complete days and sends each anomaly
 * found once (the notifier's de-duplication: the subject holds the bucket, so re-judging a bucket on the
 * next passes sends nothing again). Of each bucket only its MAX_ALERTS_PER_PASS highest scores are ever
 * sent, and a pass sends at most MAX_ALERTS_PER_PASS per granularity (highest scores first; what a pass
 * leaves out of that cap goes on the next). Resolves to how many were sent.
 */
export async function alertAnomalies(
  warehouse: Warehouse,
  alerts: AlertNotifier,
  settings: AnomalySettings,
  dimensions: readonly AnomalyDimension[],
  nowMs: number,
): Promise<number> {
  let sent = 0;
  for (const granularity of ['hour', 'day'] as const) {
    const targets = lastCompleteBuckets(granularity, nowMs, granularity === 'day' ? ALERT_DAYS_BACK : ALERT_HOURS_BACK);
    // Highest score first (findAnomalies' order): a bucket's first MAX_ALERTS_PER_PASS are its sendable ones.
    const found = await findAnomalies(warehouse, settings, granularity, dimensions, targets);
    const perBucket = new Map<string, number>();
    let sentNowHere = 0;
    for (const a of found) {
      if (sentNowHere >= MAX_ALERTS_PER_PASS) break;
      const rank = (perBucket.get(a.bucket) ?? 0) + 1;
      perBucket.set(a.bucket, rank);
      if (rank > MAX_ALERTS_PER_PASS) continue;
      const sentNow = await alerts.send({
        event: 'spend_anomaly',
        subject: `${a.granularity}:${a.dimension}:${a.bucket}:${a.value}`,
        dedupSeconds: ALERT_DEDUP_SECONDS,
        text: `Unusual spend: ${a.dimension} ${JSON.stringify(a.value.slice(0, 80))} spent $${a.cost_usd} in the ${a.granularity} from ${a.bucket}, usually $${a.expected_usd} (score ${a.score})`,
        fields: { ...a },
      });
      if (sentNow) sentNowHere++;
    }
    sent += sentNowHere;
  }
  return sent;
}
