// The rollups as the planner sees them, smallest first, each with the dimensions it keeps:
// - spend_team_daily (query, 052): day × team × model × provider × status class × call type, no tags;
// - spend_team_tags_daily (query, 053): day × team × status class × exact tag set (tag questions by team);
// - spend_daily (ingest, 012): day × team × model × provider × status class × exact tag set;
// - spend_key_daily (query, 051): key first — one key's spend reads a few granules;
// - spend_hourly_team (ingest, 013): hour × team × model × provider × status × call type × tag set;
// - spend_hourly (ingest, 011): hour × every dimension, tag set included.
// The exact tag set is a key column where present, so any tag combination is a hasAll/hasAny over it.
// Availability is probed once per warehouse (tables appear when their migrations run at boot), so the query
// API works, from raw, before any rollup exists. Daily rollups bucket by the server's toDate(): they are used
// only when the server's timezone is UTC.
import { z } from 'zod';
import { sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { Metric, SourceCatalog } from './catalog.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const summed = (extra: Partial<Record<Metric, string>> = {}): Partial<Record<Metric, string>> => ({
  cost: 'sum(cost_nano)',
  requests: 'sum(requests)',
  errors: 'sum(errors)',
  prompt_tokens: 'sum(prompt_tokens)',
  completion_tokens: 'sum(completion_tokens)',
  cached_tokens: 'sum(cached_tokens)',
  total_tokens: 'sum(total_tokens)',
  unpriced_requests: 'sum(unpriced)',
  // Same division and rounding as raw's round(avg(duration_ms), 1): equal results, not merely close.
  avg_latency_ms: 'round(sum(duration_ms_sum) / sum(requests), 1)',
  ...extra,
});

export const TEAM_DAILY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_team_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  dimensions: { team: 'team_id', model: 'model', provider: 'provider', status: 'status_class', call_type: 'call_type' },
  metrics: summed(),
};

export const TEAM_TAGS_DAILY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_team_tags_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  dimensions: { team: 'team_id', status: 'status_class', tag: 'tags' },
  metrics: summed(),
};

export const DAILY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  dimensions: { team: 'team_id', model: 'model', provider: 'provider', status: 'status_class', tag: 'tags' },
  metrics: summed(),
};

export const KEY_DAILY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_key_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  dimensions: {
    key: 'key_hash',
    user: 'user_id',
    team: 'team_id',
    customer: 'customer_id',
    model: 'model',
    provider: 'provider',
    status: 'status_class',
    call_type: 'call_type',
  },
  metrics: summed(),
};

export const HOURLY_TEAM: SourceCatalog = {
  name: 'rollup',
  table: 'spend_hourly_team',
  time: 'hour',
  grainMs: HOUR_MS,
  dimensions: {
    team: 'team_id',
    model: 'model',
    provider: 'provider',
    status: 'status_class',
    call_type: 'call_type',
    tag: 'tags',
  },
  metrics: summed(),
};

export const HOURLY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_hourly',
  time: 'hour',
  grainMs: HOUR_MS,
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
  metrics: summed(),
};

/** Planner preference: the smallest table that can answer wins. */
export const ROLLUPS: readonly SourceCatalog[] = [TEAM_DAILY, TEAM_TAGS_DAILY, DAILY, KEY_DAILY, HOURLY_TEAM, HOURLY];

const NEGATIVE_TTL_MS = 30_000;
const probes = new WeakMap<Warehouse, { rollups: SourceCatalog[]; complete: boolean; at: number }>();
const probeRow = z.object({ name: z.string(), tz: z.string() });
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Universal', 'Zulu', 'Etc/Universal', 'Etc/Zulu']);

/** The rollups installed in this warehouse's database, in planner preference order. */
export async function availableRollups(warehouse: Warehouse): Promise<SourceCatalog[]> {
  const cached = probes.get(warehouse);
  if (cached && (cached.complete || Date.now() - cached.at < NEGATIVE_TTL_MS)) return cached.rollups;
  const rows = await warehouse.rows(
    sql`SELECT name, timezone() AS tz FROM system.tables WHERE database = currentDatabase() AND has(${ROLLUPS.map((r) => r.table)}, name)`,
    probeRow,
  );
  const present = new Set(rows.map((r) => r.name));
  const utc = rows.every((r) => UTC_NAMES.has(r.tz));
  const rollups = ROLLUPS.filter((r) => present.has(r.table) && (r.grainMs < DAY_MS || utc));
  probes.set(warehouse, { rollups, complete: rollups.length === ROLLUPS.length, at: Date.now() });
  return rollups;
}
