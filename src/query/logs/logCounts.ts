// Exact call counts for the logs pager, from the cheapest tables that have them: whole UTC days from the
// smallest rollup with the filters' dimensions (the planner's choice), whole hours from the hourly
// rollup, and only the partial hours at a window's edges from raw (a narrow slice of the time-sorted table).
import { z } from 'zod';
import type { Sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { type AccessScope, buildSelect, type SelectSpec } from '../build.js';
import { type Dimension, RAW, type SourceCatalog } from '../catalog.js';
import { choosePlan } from '../planner.js';
import type { DimensionFilter, TagFilter } from '../request.js';
import { HOURLY } from '../rollup.js';
import type { Window } from '../time.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** What the logs list is filtered by, as far as counting is concerned. */
export interface CountScope {
  filters: Partial<Record<Dimension, DimensionFilter>>;
  tags: TagFilter;
  scope: AccessScope;
  /** Conditions on raw-only columns; when present every count is read from raw. */
  rawOnly: readonly Sql[];
}

export interface HourCount {
  fromMs: number;
  toMs: number;
  count: number;
}

const countRow = z.object({ bucket: z.coerce.number().optional(), m_requests: z.coerce.number() });
const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

function spec(what: CountScope, source: SourceCatalog, window: Window, granularity: 'hour' | 'none'): SelectSpec {
  const { rawOnly, ...rest } = what;
  if (rawOnly.length && source !== RAW) throw new Error('raw-only conditions on a rollup (logs pager bug)');
  return {
    source,
    window,
    timezone: 'UTC',
    granularity,
    groupBy: [],
    metrics: ['requests'],
    extraWhere: rawOnly,
    ...rest,
  };
}

function dimensionsOf(what: CountScope): Dimension[] {
  const dims = new Set(Object.keys(what.filters) as Dimension[]);
  if (what.tags.all?.length || what.tags.any || what.tags.none?.length) dims.add('tag');
  if (what.scope.keyHash !== undefined) dims.add('key');
  if (what.scope.teamId !== undefined) dims.add('team');
  return [...dims];
}

/** Splits a window into raw edges, whole hours and whole UTC days (empty pieces dropped). */
function pieces(w: Window): Window[] {
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

/** Exact number of matching calls in `window`, from the installed `rollups` where they can answer. */
export async function countCalls(
  warehouse: Warehouse,
  what: CountScope,
  window: Window,
  installed: readonly SourceCatalog[],
): Promise<number> {
  const rollups = what.rawOnly.length ? [] : installed;
  const dimensions = dimensionsOf(what);
  const counts = await Promise.all(
    pieces(window).map(async (piece) => {
      const plan = choosePlan(
        { window: piece, timezone: 'UTC', granularity: 'none', dimensions, metrics: ['requests'], source: 'auto' },
        rollups,
      );
      const rows = await warehouse.rows(buildSelect(spec(what, plan.source, piece, 'none')), countRow);
      return rows[0]?.m_requests ?? 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Per-hour counts of `window` (hourly rollup for whole hours, raw for the partial edges), oldest first. */
async function hourCounts(warehouse: Warehouse, what: CountScope, window: Window): Promise<HourCount[]> {
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
      ? warehouse.rows(buildSelect(spec(what, HOURLY, inner, 'hour')), countRow)
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
  what: CountScope,
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
    const hours = await hourCounts(warehouse, what, piece);
    walked.push(...(order === 'desc' ? hours.reverse() : hours));
    sum += hours.reduce((s, h) => s + h.count, 0);
    edge = order === 'desc' ? piece.fromMs : piece.toMs;
    if (sum >= needed) break;
  }
  return walked;
}
