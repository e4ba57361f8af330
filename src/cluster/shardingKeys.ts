// Where each table's rows live in a sharded cluster: the sharding key of the Distributed table the
// migration runner puts in front of every `<table>_local` (src/clickhouse/migrate.ts, docs/scaling.md).
//
// The rule for every table: hash of its sorting key (ORDER BY), unless listed below. Rows with equal sorting
// keys are what SummingMergeTree adds up and ReplacingMergeTree collapses, so they always meet on one shard
// and every table engine stays exact per key; a hash of the whole key spreads evenly.
//
// Raw spend is spread by request_id alone, evenly whatever the traffic (one huge team or key cannot fill a
// shard), and one request_id always lands on the same shard: a retried identical insert block splits the
// same way, so each shard's Replicated table can drop the repeat, and a call's payload sits beside it.
// The price: a rollup group (team × model × hour …) is summed on every shard by the materialized views on
// the local tables, so each shard holds a partial row of it. That is exact because rollups are only ever
// read as GROUP BY … sum(…) through the Distributed table, which merges the shards' partial aggregates (the
// same reason reads never rely on SummingMergeTree having merged its parts on one server).
const EXPLICIT_KEYS: Readonly<Record<string, string>> = {
  spend_logs: 'cityHash64(request_id)',
  spend_payloads: 'cityHash64(request_id)',
};

/** The local (per-shard, Replicated) table behind a Distributed table of the same name. */
export const localTable = (table: string): string => `${table}_local`;

/** The ORDER BY expression of a CREATE TABLE statement (balanced parentheses), or null. */
export function sortingKey(statement: string): string | null {
  const at = /\bORDER\s+BY\s+/i.exec(statement);
  if (!at) return null;
  const rest = statement.slice(at.index + at[0].length);
  if (!rest.startsWith('(')) return /^[\w.]+/.exec(rest)?.[0] ?? null;
  let depth = 0;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '(') depth++;
    else if (rest[i] === ')' && --depth === 0) return rest.slice(1, i);
  }
  return null;
}

export function shardingKey(table: string, createStatement: string): string {
  const explicit = EXPLICIT_KEYS[table];
  if (explicit) return explicit;
  const key = sortingKey(createStatement);
  if (!key) throw new Error(`table ${table} has no ORDER BY to shard by; add it to src/cluster/shardingKeys.ts`);
  return `cityHash64(${key})`;
}

/**
 * Client settings in cluster mode (docs/scaling.md, "Consistency"):
 * - Inserts into a Distributed table are synchronous: the insert returns once every shard has its rows,
 *   not while they wait in the initiator's send queue. The worker's exactly-once check (docs/ingest.md)
 *   asks the Distributed table which request_ids exist before sending again; with the default asynchronous
 *   send a committed insert could be invisible to that check and be sent twice.
 * - Every node sends a shard's reads and writes to the same replica: the first healthy one in remote_servers
 *   order (in_order, no local-replica shortcut). Replication between replicas is asynchronous, so with
 *   random choice a read could miss a write made a moment earlier through another node (a key blocked on
 *   one proxy, cached as unblocked by another). The second replica takes over when the first is down, and
 *   a replica lagging more than a second (one just restarted) is skipped while another is fresh.
 */
export function clusterClientSettings(cluster: string | null) {
  if (!cluster) return {};
  return {
    insert_distributed_sync: 1,
    load_balancing: 'in_order',
    prefer_localhost_replica: 0,
    max_replica_delay_for_distributed_queries: '1',
  } as const;
}
