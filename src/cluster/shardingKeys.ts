// Where each table's rows live in a sharded cluster: the sharding key of the Distributed table the
// migration runner puts in front of every `<table>_local` (src/clickhouse/migrate.ts, docs/scaling.md).
//
// Raw spend is spread by request_id, evenly whatever the traffic (one huge team or key cannot fill a shard),
// and one request_id always lands on the same shard: a retried identical insert block splits identically,
// so each shard's Replicated table can drop the repeat, and the payload/index rows of a call sit beside it.
// The price: a rollup group (team × model × hour …) is summed on every shard by the materialized views
// running on the local tables, so each shard holds a partial row of it. That is exact because rollups are
// only ever read as GROUP BY … sum(…) through the Distributed table, which merges the shards' partial
// aggregates (the same reason reads never rely on SummingMergeTree having merged parts on one server).
// Versioned tables (control plane, archive manifest) are spread by their id, so every version of an id is
// on one shard and FINAL / ReplacingMergeTree stay exact per id.
export const SHARDING_KEYS: Readonly<Record<string, string>> = {
  schema_migrations: 'version',
  spend_logs: 'cityHash64(request_id)',
  spend_payloads: 'cityHash64(request_id)',
  spend_request_index: 'cityHash64(request_id)',
  // Rollups are filled by views on each shard's local raw table; these keys only route direct inserts
  // (the migrations' backfills), where any deterministic key is exact for the same reason as above.
  spend_hourly: 'cityHash64(team_id, model)',
  spend_daily: 'cityHash64(team_id, model)',
  spend_team_daily: 'cityHash64(team_id, model)',
  spend_key_daily: 'cityHash64(key_hash)',
  control_keys: 'cityHash64(id)',
  control_teams: 'cityHash64(id)',
  control_team_members: 'cityHash64(id)',
  control_users: 'cityHash64(id)',
  control_customers: 'cityHash64(id)',
  control_tags: 'cityHash64(id)',
  control_budgets: 'cityHash64(id)',
  archive_manifest: 'cityHash64(destination, window_start)',
};

/** The local (per-shard, Replicated) table behind a Distributed table of the same name. */
export const localTable = (table: string): string => `${table}_local`;

export function shardingKey(table: string): string {
  const key = SHARDING_KEYS[table];
  if (!key) {
    throw new Error(
      `table ${table} has no sharding key for cluster mode: add one to src/cluster/shardingKeys.ts (docs/scaling.md)`,
    );
  }
  return key;
}

/**
 * Client settings in cluster mode. Inserts into a Distributed table are synchronous: the insert returns
 * once every shard has the rows, not when they sit in the initiator's send queue. The worker's exactly-once
 * check (docs/ingest.md) asks the Distributed table which request_ids exist before sending again; with the
 * default asynchronous send a committed insert could be invisible to that check and be sent twice.
 */
export function clusterClientSettings(cluster: string | null): { insert_distributed_sync?: 1 } {
  return cluster ? { insert_distributed_sync: 1 } : {};
}
