// The one answer to "how much has scope X spent": the spend fields of /key/info, /team/info, /user/info,
// /customer/info and /tag/info (management API), budget counter rebuilds (src/budgets/rebuild.ts) and the
// budget gauges. Same planner and tables as the query endpoints: the period is cut into whole UTC days,
// whole hours and raw edges (piecewise.ts), each piece read from the smallest rollup that answers it
// exactly, so an all-time key total reads spend_key_daily, not every hour of every key.
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { Period } from '../periods.js';
import type { Dimension } from './catalog.js';
import { piecewiseTotals } from './piecewise.js';
import type { DimensionFilter } from './request.js';
import { availableRollups } from './rollup.js';

/** Which calls count for a scope. Every given field must match (a key matches any of its hashes). */
export interface SpendFilter {
  key_hashes?: string[];
  user_id?: string;
  team_id?: string;
  customer_id?: string;
  tag?: string;
  model?: string;
}

/**
 * Where a period without an end (a lifetime budget) stops: before DateTime's end (2106), after any call.
 * Spend is counted up to it, not up to now, so a call stamped ahead of this server's clock still counts.
 */
const OPEN_END_MS = Date.UTC(2100, 0, 1);

/** The query filters that pick the calls of `filter` (shared with the budget forecasts). */
export function dimensionFilters(filter: SpendFilter): Partial<Record<Dimension, DimensionFilter>> {
  const out: Partial<Record<Dimension, DimensionFilter>> = {};
  if (filter.key_hashes) out.key = { in: filter.key_hashes };
  if (filter.user_id !== undefined) out.user = { in: [filter.user_id] };
  if (filter.team_id !== undefined) out.team = { in: [filter.team_id] };
  if (filter.customer_id !== undefined) out.customer = { in: [filter.customer_id] };
  if (filter.tag !== undefined) out.tag = { in: [filter.tag] };
  if (filter.model !== undefined) out.model = { in: [filter.model] };
  return out;
}

/** Total cost in nano-USD of the calls matching `filter` that started within `period`. */
export async function scopeSpendNano(warehouse: Warehouse, filter: SpendFilter, period: Period): Promise<number> {
  const { cost } = await piecewiseTotals(
    warehouse,
    { filters: dimensionFilters(filter), tags: {}, scope: {}, rawOnly: [] },
    { fromMs: period.start.getTime(), toMs: period.end?.getTime() ?? OPEN_END_MS },
    await availableRollups(warehouse),
    ['cost'],
  );
  return Number(cost);
}
