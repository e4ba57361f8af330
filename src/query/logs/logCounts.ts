// Exact call counts for the logs pager: the total (piecewise.ts: days, hours and edges each from the
// cheapest table) and per-hour counts walked from an edge (hourly rollup, raw for partial edge hours).
import { z } from 'zod';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { buildSelect } from '../build.js';
import { RAW, type SourceCatalog } from '../catalog.js';
import { ceilTo, dimensionsOf, floorTo, piecewiseTotals, type TotalsScope, totalsSpec } from '../piecewise.js';
import { choosePlan } from '../planner.js';
import type { Window } from '../time.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface HourCount {
  fromMs: number;
  toMs: number;
  count: number;
}

const countRow = z.object({ bucket: z.coerce.number().optional(), m_requests: z.coerce.number() });
const spec = (what: TotalsScope, source: SourceCatalog, window: Window, granularity: 'hour' | 'none') =>
  totalsSpec(what, source, window, granularity, ['requests']);

/** Exact number of matching calls in `window`. */
export async function countCalls(
  warehouse: Warehouse,
  what: TotalsScope,
  window: Window,
  installed: readonly SourceCatalog[],
): Promise<number> {
  const { requests } = await piecewiseTotals(warehouse, what, window, installed, ['requests']);
  return Number(requests);
}

/** The smallest hour-grain rollup that can count calls for `what`, or null (then the pager scans raw). */
export function hourRollupFor(what: TotalsScope, installed: readonly SourceCatalog[]): SourceCatalog | null {
  if (what.rawOnly.length) return null;
  const hourly = installed.filter((r) => r.grainMs === HOUR_MS);
  const plan = choosePlan(
    {
      window: { fromMs: 0, toMs: HOUR_MS },
      timezone: 'UTC',
      granularity: 'hour',
      dimensions: dimensionsOf(what),
      metrics: ['requests'],
      source: 'auto',
    },
    hourly,
  );
  return plan.source === RAW ? null : plan.source;
}

/** Per-hour counts of `window` (`rollup` for whole hours, raw for the partial edges), oldest first. */
async function hourCounts(
  warehouse: Warehouse,
  what: TotalsScope,
  rollup: SourceCatalog,
  window: Window,
): Promise<HourCount[]> {
  const inner = { fromMs: ceilTo(window.fromMs, HOUR_MS), toMs: floorTo(window.toMs, HOUR_MS) };
  const edges: Window[] =
    inner.fromMs < inner.toMs
      ? [
          { fromMs: window.fromMs, toMs: inner.fromMs },
          { fromMs: inner.toMs, toMs: window.toMs },
        ].filter((w) => w.toMs > w.fromMs)
      : [window];
  const [hourRows, ...edgeRows] = await Promise.all([
    inner.fromMs < inner.toMs
      ? warehouse.rows(buildSelect(spec(what, rollup, inner, 'hour')), countRow)
      : Promise.resolve([]),
    ...edges.map((w) => warehouse.rows(buildSelect(spec(what, RAW, w, 'none')), countRow)),
  ]);
  const hours = hourRows.map((r) => {
    const fromMs = (r.bucket ?? 0) * 1000;
    return { fromMs, toMs: fromMs + HOUR_MS, count: r.m_requests };
  });
  edges.forEach((w, i) => {
    hours.push({ ...w, count: edgeRows[i]?.[0]?.m_requests ?? 0 });
  });
  return hours.filter((h) => h.count > 0).sort((a, b) => a.fromMs - b.fromMs);
}

/**
 * Hours walked from `edgeMs` into `window` (backwards for desc), in walk order, until they hold `needed`
 * calls or the window ends. Steps grow (a day, a week, the rest), so a page near the edge reads one day of
 * the hourly rollup, not the whole window.
 */
export async function walkHours(
  warehouse: Warehouse,
  what: TotalsScope,
  rollup: SourceCatalog,
  window: Window,
  edgeMs: number,
  order: 'asc' | 'desc',
  needed: number,
): Promise<HourCount[]> {
  const walked: HourCount[] = [];
  let edge = edgeMs;
  let sum = 0;
  for (const step of [DAY_MS, 7 * DAY_MS, Number.POSITIVE_INFINITY]) {
    const piece =
      order === 'desc'
        ? { fromMs: Math.max(window.fromMs, floorTo(edge - step, HOUR_MS)), toMs: Math.min(edge, window.toMs) }
        : { fromMs: Math.max(edge, window.fromMs), toMs: Math.min(window.toMs, ceilTo(edge + step, HOUR_MS)) };
    if (piece.toMs <= piece.fromMs) break;
    const hours = await hourCounts(warehouse, what, rollup, piece);
    walked.push(...(order === 'desc' ? hours.reverse() : hours));
    sum += hours.reduce((s, h) => s + h.count, 0);
    edge = order === 'desc' ? piece.fromMs : piece.toMs;
    if (sum >= needed) break;
  }
  return walked;
}
