// The hourly spend rollup (owned by ingest: clickhouse/010–029, docs/ingest.md) as the planner sees it.
// Its key is (hour, team, user, key, customer, model, provider, status class, call_type, exact sorted tag
// set), so every dimension of the query API is a rollup column and any tag combination is a
// hasAll/hasAny over the tag-set column. Availability is probed once per warehouse (the table appears
// when its migration runs at boot), so the query API also works before the rollup exists.
import { z } from 'zod';
import { sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { SourceCatalog } from './catalog.js';

export const ROLLUP: SourceCatalog = {
  name: 'rollup',
  table: 'spend_hourly',
  time: 'hour',
  dimensions: {
    team: 'team_id',
    user: 'user_id',
    key: 'key_hash',
    customer: 'customer_id',
    model: 'model',
    provider: 'provider',
    tag: 'tags',
    status: 'status_class',
    call_type: 'call_type',
  },
  metrics: {
    cost: 'sum(cost_nano)',
    requests: 'sum(requests)',
    errors: 'sum(errors)',
    prompt_tokens: 'sum(prompt_tokens)',
    completion_tokens: 'sum(completion_tokens)',
    cached_tokens: 'sum(cached_tokens)',
    total_tokens: 'sum(total_tokens)',
    unpriced_requests: 'sum(unpriced)',
  },
};

const POSITIVE_TTL_MS = Number.POSITIVE_INFINITY;
const NEGATIVE_TTL_MS = 30_000;
const probes = new WeakMap<Warehouse, { available: boolean; at: number }>();

/** The rollup catalog if its table exists in this warehouse's database, else null. */
export async function availableRollup(warehouse: Warehouse): Promise<SourceCatalog | null> {
  const cached = probes.get(warehouse);
  const now = Date.now();
  if (cached && now - cached.at < (cached.available ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS)) {
    return cached.available ? ROLLUP : null;
  }
  const rows = await warehouse.rows(
    sql`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${ROLLUP.table}`,
    z.object({ n: z.coerce.number() }),
  );
  const available = (rows[0]?.n ?? 0) > 0;
  probes.set(warehouse, { available, at: now });
  return available ? ROLLUP : null;
}
