// The one spend total for a key, team, user, customer or tag, shared by /key/info, /team/info,
// /user/info (management API) and the query endpoints, so every view of "how much has X spent" is the
// same number from the same planner.
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { Dimension } from './catalog.js';
import { runSpendQuery } from './engine.js';
import { spendQuerySchema } from './request.js';

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
  /** Exclusive; default now (rounded up to the hour, which adds nothing: no call is in the future). */
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
  const query = spendQuerySchema.parse({
    from: (window.from ?? new Date(0)).toISOString(),
    to: window.to ? window.to.toISOString() : 'now',
    metrics: ['cost', 'requests'],
    filters,
  });
  const { totals } = await runSpendQuery(warehouse, query, {});
  return {
    cost_nano: Number(totals.cost_nano ?? 0),
    cost_usd: totals.cost_usd ?? '0.000000000',
    requests: Number(totals.requests ?? 0),
  };
}
