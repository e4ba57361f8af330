// The rollups as the planner sees them, smallest first, each with the dimensions it keeps:
// - spend_team_daily (query, 052): day × team × model × provider × status class × call type, no tags;
// - spend_team_tags_daily (query, 053): day × team × status class × exact tag set (tag questions by team);
// - spend_daily (ingest, 012): day × team × model × provider × status class × exact tag set;
// - spend_key_daily (query, 051): key first — one key's spend reads a few granules;
// - spend_hourly_team (ingest, 013): hour × team × model × provider × status × call type × tag set;
// - spend_hourly (ingest, 011): hour × every dimension, tag set included;
// - spend_pricing_daily (057): day × team × model × provider × service tier × price source × record source;
// - spend_scope_daily (066): day × one scope's value (key, team, user, customer or model; tags are not used
//   here, see SCOPE_DAILY) — the smallest table for any question about one of those dimensions alone.
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
  // Same division and rounding as raw's avg (catalog.ts): equal results, not merely close.
  avg_latency_ms: 'floor(sum(duration_ms_sum) / sum(requests) * 10 + 0.5) / 10',
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

/**
 * Only for the questions no other rollup answers (service tier, price source): its rows also split by record
 * source, and it keeps no errors, unpriced calls or latency. `requests` counts calls, not corrections, as
 * raw does; correction deltas are in the cost, as in raw.
 */
export const PRICING_DAILY: SourceCatalog = {
  name: 'rollup',
  table: 'spend_pricing_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  dimensions: {
    team: 'team_id',
    model: 'model',
    provider: 'provider',
    service_tier: 'service_tier',
    price_source: 'price_source',
  },
  metrics: {
    cost: 'sum(cost_nano)',
    requests: 'sum(requests)',
    prompt_tokens: 'sum(prompt_tokens)',
    completion_tokens: 'sum(completion_tokens)',
    cached_tokens: 'sum(cached_tokens)',
    total_tokens: 'sum(prompt_tokens) + sum(completion_tokens)',
  },
};

/**
 * spend_scope_daily (clickhouse/066) as one catalog per scope: its rows for scope `key` hold every call once,
 * under its key ('' for none), and likewise for team, user, customer and model — so a question that touches
 * that one dimension (group_by, filters, a caller's access scope) or none reads the exact answer from them.
 * Each catalog has its one dimension only: the planner's usual rule (every dimension the question touches is
 * kept) then picks it only for questions about that dimension alone. Its tag rows are left out: a call is in
 * the row of each of its tags, which is the query API's tag rows but not its tag filters (hasAny/hasAll over
 * a call's set, one call counted once) nor its totals beside tag rows (each call once).
 */
const scopeDaily = (dimension: 'key' | 'team' | 'user' | 'customer' | 'model'): SourceCatalog => ({
  name: 'rollup',
  table: 'spend_scope_daily',
  time: 'toDateTime(day)',
  grainMs: DAY_MS,
  where: `scope = '${dimension}'`,
  dimensions: { [dimension]: 'value' },
  metrics: {
    cost: 'sum(cost_nano)',
    requests: 'sum(requests)',
    errors: 'sum(errors)',
    prompt_tokens: 'sum(prompt_tokens)',
    completion_tokens: 'sum(completion_tokens)',
    total_tokens: 'sum(total_tokens)',
  },
});

/** By cardinality: a question about no dimension at all (a total, a daily series) reads the model rows. */
export const SCOPE_DAILY: readonly SourceCatalog[] = (['model', 'team', 'customer', 'user', 'key'] as const).map(
  scopeDaily,
);

/** Planner preference: the smallest table that can answer wins (the pricing rollup only when no other can). */
export const ROLLUPS: readonly SourceCatalog[] = [
  ...SCOPE_DAILY,
  TEAM_DAILY,
  TEAM_TAGS_DAILY,
  DAILY,
  KEY_DAILY,
  HOURLY_TEAM,
  HOURLY,
  PRICING_DAILY,
];

const NEGATIVE_TTL_MS = 30_000;
interface Probe {
  rollups: SourceCatalog[];
  /** spend_logs stores each call's tag-set hash (migration 054): the tag-set index can be used. */
  tagsHash: boolean;
  complete: boolean;
  at: number;
}
const probes = new WeakMap<Warehouse, Probe>();
const probeRow = z.object({ found: z.string(), tz: z.string() });
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Universal', 'Zulu', 'Etc/Universal', 'Etc/Zulu']);
const TAGS_HASH = 'spend_logs.tags_hash';

async function probe(warehouse: Warehouse): Promise<Probe> {
  const cached = probes.get(warehouse);
  if (cached && (cached.complete || Date.now() - cached.at < NEGATIVE_TTL_MS)) return cached;
  const rows = await warehouse.rows(
    // `found`, not `name`: ClickHouse would read an alias `name` in WHERE as the constant.
    sql`SELECT name AS found, timezone() AS tz FROM system.tables
        WHERE database = currentDatabase() AND has(${ROLLUPS.map((r) => r.table)}, name)
      UNION ALL SELECT ${TAGS_HASH} AS found, timezone() AS tz FROM system.columns
        WHERE database = currentDatabase() AND table = 'spend_logs' AND name = 'tags_hash'`,
    probeRow,
  );
  const present = new Set(rows.map((r) => r.found));
  const utc = rows.every((r) => UTC_NAMES.has(r.tz));
  const rollups = ROLLUPS.filter((r) => present.has(r.table) && (r.grainMs < DAY_MS || utc));
  const tagsHash = present.has(TAGS_HASH);
  const found = { rollups, tagsHash, complete: rollups.length === ROLLUPS.length && tagsHash, at: Date.now() };
  probes.set(warehouse, found);
  return found;
}

/** The rollups installed in this warehouse's database, in planner preference order. */
export async function availableRollups(warehouse: Warehouse): Promise<SourceCatalog[]> {
  return (await probe(warehouse)).rollups;
}

/** Whether spend_logs has the tags_hash column (absent until migration 054 has run, e.g. with migrate off). */
export async function tagsHashStored(warehouse: Warehouse): Promise<boolean> {
  return (await probe(warehouse)).tagsHash;
}
