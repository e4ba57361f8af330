// Chooses the table that answers a spend question. The rule: the smallest rollup that gives the exact same
// answer as raw — it has every group_by and filter dimension (tags included: rollups keep the exact tag
// set, so any combination is a hasAll/hasAny over it), every metric is a sum of its columns (p95 is not),
// and the window and buckets are made of its whole time buckets. Otherwise the raw table.
import { AppError } from '../errors.js';
import { type Dimension, type Granularity, type Metric, RAW, type SourceCatalog } from './catalog.js';
import { type Window, zoneOffsetMinutes } from './time.js';

export interface PlanInput {
  window: Window;
  timezone: string;
  granularity: Granularity;
  /** Every dimension the query touches: group_by, filters, tag filters, access scope. */
  dimensions: readonly Dimension[];
  metrics: readonly Metric[];
  source: 'auto' | 'rollup' | 'raw';
}

export interface Plan {
  source: SourceCatalog;
  /** Why no rollup could answer (null when one does). */
  reason: string | null;
}

const HOUR_MS = 3_600_000;
const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);

/** Why `rollup` cannot answer exactly, or null when it can. */
export function rollupBlocker(input: PlanInput, rollup: SourceCatalog): string | null {
  const metric = input.metrics.find((m) => rollup.metrics[m] === undefined);
  if (metric) return `metric ${metric} needs per-call values`;
  const dimension = input.dimensions.find((d) => rollup.dimensions[d] === undefined);
  if (dimension) return `${rollup.table} has no ${dimension}`;
  const { fromMs, toMs } = input.window;
  if (fromMs % rollup.grainMs !== 0 || toMs % rollup.grainMs !== 0) {
    return `the window is not made of whole ${rollup.grainMs === HOUR_MS ? 'hours' : 'UTC days'}`;
  }
  if (input.granularity === 'none') return null;
  if (input.granularity === 'hour' && rollup.grainMs > HOUR_MS) return `${rollup.table} has no hours`;
  if (rollup.grainMs > HOUR_MS) {
    return UTC_ZONES.has(input.timezone) ? null : `${rollup.table} has UTC days only`;
  }
  // Hour-grain buckets are whole hours in the zone only if its offset is whole hours.
  for (const ms of [fromMs, toMs - 1]) {
    if (zoneOffsetMinutes(input.timezone, ms) % 60 !== 0) return 'the timezone offset is not whole hours';
  }
  return null;
}

export function choosePlan(input: PlanInput, rollups: readonly SourceCatalog[]): Plan {
  if (input.source === 'raw') return { source: RAW, reason: 'raw requested' };
  const blockers: string[] = [];
  for (const rollup of rollups) {
    const blocker = rollupBlocker(input, rollup);
    if (!blocker) return { source: rollup, reason: null };
    blockers.push(blocker);
  }
  const reason = blockers.length ? [...new Set(blockers)].join('; ') : 'no rollup is installed';
  if (input.source === 'rollup') {
    throw new AppError('bad_request', `source=rollup cannot answer this query: ${reason}`, { param: 'source' });
  }
  return { source: RAW, reason };
}
