// Totals over any window from the cheapest tables that have them: the window is cut into whole UTC days
// (answered by the smallest rollup with the needed dimensions — the planner's choice), whole hours (the
// hourly rollup) and the partial hours at its edges (raw, a narrow slice of the time-sorted table), and
// the pieces are summed. Only sums cut this way; the logs pager and scopeSpendNano (spendTotal.ts) use it.
import { z } from 'zod';
import type { Sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { type AccessScope, buildSelect, type SelectSpec } from './build.js';
import { type Dimension, type Metric, metricAlias, RAW, type SourceCatalog } from './catalog.js';
import { choosePlan } from './planner.js';
import type { DimensionFilter, TagFilter } from './request.js';
import type { Window } from './time.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Which calls count. */
export interface TotalsScope {
  filters: Partial<Record<Dimension, DimensionFilter>>;
  tags: TagFilter;
  scope: AccessScope;
  /** Conditions on raw-only columns; when present every piece is read from raw. */
  rawOnly: readonly Sql[];
}

/** Metrics that are plain sums, so pieces add up exactly. */
export type SummableMetric = Extract<Metric, 'cost' | 'requests' | 'errors' | 'total_tokens' | 'unpriced_requests'>;

export const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
export const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/** A SELECT of sums over `window` for `what` on `source` (raw-only conditions only on raw). */
export function totalsSpec(
  what: TotalsScope,
  source: SourceCatalog,
  window: Window,
  granularity: 'hour' | 'none',
  metrics: readonly Metric[],
): SelectSpec {
  const { rawOnly, ...rest } = what;
  if (rawOnly.length && source !== RAW) throw new Error('raw-only conditions on a rollup (planner bug)');
  return { source, window, timezone: 'UTC', granularity, groupBy: [], metrics, extraWhere: rawOnly, ...rest };
}

export function dimensionsOf(what: TotalsScope): Dimension[] {
  const dims = new Set(Object.keys(what.filters) as Dimension[]);
  if (what.tags.all?.length || what.tags.any || what.tags.none?.length) dims.add('tag');
  if (what.scope.keyHash !== undefined) dims.add('key');
  if (what.scope.teamId !== undefined) dims.add('team');
  return [...dims];
}

/** Cuts a window into raw edges, whole hours and whole UTC days (empty pieces dropped). */
export function splitWindow(w: Window): Window[] {
  const hFrom = ceilTo(w.fromMs, HOUR_MS);
  const hTo = floorTo(w.toMs, HOUR_MS);
  if (hFrom >= hTo) return [w];
  const dFrom = ceilTo(w.fromMs, DAY_MS);
  const dTo = floorTo(w.toMs, DAY_MS);
  const cuts = dFrom < dTo ? [w.fromMs, hFrom, dFrom, dTo, hTo, w.toMs] : [w.fromMs, hFrom, hTo, w.toMs];
  return cuts
    .slice(1)
    .map((toMs, i) => ({ fromMs: cuts[i] ?? toMs, toMs }))
    .filter((p) => p.toMs > p.fromMs);
}

const sumsRow = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));

/** Exact sums of `metrics` over `window`, each piece from the cheapest installed table that can answer it. */
export async function piecewiseTotals<M extends SummableMetric>(
  warehouse: Warehouse,
  what: TotalsScope,
  window: Window,
  installed: readonly SourceCatalog[],
  metrics: readonly M[],
): Promise<Record<M, bigint>> {
  const rollups = what.rawOnly.length ? [] : installed;
  const dimensions = dimensionsOf(what);
  const rows = await Promise.all(
    splitWindow(window).map(async (piece) => {
      const plan = choosePlan(
        { window: piece, timezone: 'UTC', granularity: 'none', dimensions, metrics, source: 'auto' },
        rollups,
      );
      const found = await warehouse.rows(buildSelect(totalsSpec(what, plan.source, piece, 'none', metrics)), sumsRow);
      return found[0] ?? {};
    }),
  );
  const out = {} as Record<M, bigint>;
  for (const m of metrics) {
    out[m] = rows.reduce<bigint>((sum, row) => sum + BigInt(row[metricAlias(m)] ?? 0), 0n);
  }
  return out;
}
