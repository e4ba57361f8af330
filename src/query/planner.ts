// Chooses the table that answers a spend question. The rule: the hourly rollup whenever it can give the
// exact same answer — every group_by and filter is a rollup dimension (all of them are, tags included:
// the rollup keeps the exact tag set, so any combination is a hasAll/hasAny over it), every metric is a
// sum, and the window and buckets fall on whole hours. Otherwise the raw table.
import { AppError } from '../errors.js';
import { type Dimension, type Granularity, type Metric, RAW, type SourceCatalog, sourceCanAnswer } from './catalog.js';
import { isWholeHour, type Window, zoneOffsetMinutes } from './time.js';

export interface PlanInput {
  window: Window;
  timezone: string;
  granularity: Granularity;
  dimensions: readonly Dimension[];
  metrics: readonly Metric[];
  source: 'auto' | 'rollup' | 'raw';
}

export interface Plan {
  source: SourceCatalog;
  /** Why the raw table was needed (null when the rollup answers). */
  reason: string | null;
}

/** Why the rollup cannot answer exactly, or null when it can. */
export function rollupBlocker(input: PlanInput, rollup: SourceCatalog | null): string | null {
  if (!rollup) return 'the hourly rollup is not installed';
  const metric = input.metrics.find((m) => !sourceCanAnswer(rollup, m));
  if (metric) return `metric ${metric} needs per-call values`;
  const dimension = input.dimensions.find((d) => !rollup.dimensions[d]);
  if (dimension) return `dimension ${dimension} is not in the rollup`;
  if (!isWholeHour(input.window.fromMs) || !isWholeHour(input.window.toMs)) {
    return 'the window does not start and end on whole hours';
  }
  if (input.granularity !== 'none' && input.granularity !== 'hour') {
    // Day/week/month buckets are made of whole UTC hours only if the zone's offset is whole hours.
    for (const ms of [input.window.fromMs, input.window.toMs]) {
      if (zoneOffsetMinutes(input.timezone, ms) % 60 !== 0) return 'the timezone offset is not whole hours';
    }
  } else if (input.granularity === 'hour' && zoneOffsetMinutes(input.timezone, input.window.fromMs) % 60 !== 0) {
    return 'the timezone offset is not whole hours';
  }
  return null;
}

export function choosePlan(input: PlanInput, rollup: SourceCatalog | null): Plan {
  if (input.source === 'raw') return { source: RAW, reason: 'raw requested' };
  const blocker = rollupBlocker(input, rollup);
  if (!blocker && rollup) return { source: rollup, reason: null };
  if (input.source === 'rollup') {
    throw new AppError('bad_request', `source=rollup cannot answer this query: ${blocker}`, { param: 'source' });
  }
  return { source: RAW, reason: blocker };
}
