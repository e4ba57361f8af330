// The anomaly reads (src/anomalies/series.ts) as points — bucket, series, spend — for tests that compare them
// with what the calls add up to; buckets a series spent nothing in are left out.
import {
  type AnomalyDimension,
  type AnomalyGranularity,
  type CostliestSeries,
  spendSeries,
} from '../../src/anomalies/series.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';

export interface SpendPoint {
  bucketMs: number;
  value: string;
  nano: number;
}

export async function spendPoints(
  warehouse: Warehouse,
  granularity: AnomalyGranularity,
  dimension: AnomalyDimension,
  buckets: readonly number[],
  top?: CostliestSeries,
): Promise<SpendPoint[]> {
  const series = await spendSeries(warehouse, granularity, dimension, buckets, top);
  return series.flatMap((s) =>
    s.totals.flatMap((nano, i) => (nano === 0 ? [] : [{ bucketMs: buckets[i] ?? 0, value: s.value, nano }])),
  );
}
