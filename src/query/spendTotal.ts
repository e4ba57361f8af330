// The one spend total for a key, team, user, customer or tag, for /key/info, /team/info, /user/info
// (management API) and anything else asking "how much has X spent": the same planner and tables as the
// query endpoints, with any window cut into whole days, whole hours and raw edges (piecewise.ts), so an
// all-time key total reads spend_key_daily, not every hour of every key.
import type { Warehouse } from '../clickhouse/warehouse.js';
import { nanoToUsd } from '../spendRecord.js';
import type { Dimension } from './catalog.js';
import { piecewiseTotals } from './piecewise.js';
import { availableRollups } from './rollup.js';

export interface SpendScope {
  key_hash?: string;
  team_id?: string;
  user_id?: string;
  customer_id?: string;
  tag?: string;
}

export interface SpendWindow {
  /** Inclusive; default the beginning of time. */
  from?: Date;
  /** Exclusive; default now. */
  to?: Date;
}

export interface SpendTotal {
  cost_nano: number;
  cost_usd: string;
  requests: number;
}

const SCOPE_DIMENSION: Record<keyof SpendScope, Dimension> = {
  key_hash: 'key',
  team_id: 'team',
  user_id: 'user',
  customer_id: 'customer',
  tag: 'tag',
};

export async function spendTotal(
  warehouse: Warehouse,
  scope: SpendScope,
  window: SpendWindow = {},
): Promise<SpendTotal> {
  const filters: Partial<Record<Dimension, { in: string[] }>> = {};
  for (const [field, value] of Object.entries(scope) as [keyof SpendScope, string | undefined][]) {
    if (value !== undefined) filters[SCOPE_DIMENSION[field]] = { in: [value] };
  }
  const totals = await piecewiseTotals(
    warehouse,
    { filters, tags: {}, scope: {}, rawOnly: [] },
    { fromMs: (window.from ?? new Date(0)).getTime(), toMs: (window.to ?? new Date()).getTime() },
    await availableRollups(warehouse),
    ['cost', 'requests'],
  );
  return { cost_nano: Number(totals.cost), cost_usd: nanoToUsd(totals.cost), requests: Number(totals.requests) };
}
