// Numbered .sql migrations from clickhouse/, applied at startup and by `npm run migrate`, recorded in
// `schema_migrations`. Safe when several processes start at once: a Redis lock serialises runners and
// every statement is idempotent (IF NOT EXISTS), so even a runner that lost its lock cannot break the schema.
// Files are written for one server; the runner makes them cluster-ready (`{{on_cluster}}`, Replicated engines,
// Distributed tables over them: renderForCluster).
// A rollup's view only sees inserts made after it exists, so a new rollup needs a backfill with the view's
// own SELECT: write `{{backfill}}` after `TO target` in its CREATE MATERIALIZED VIEW and the runner inserts
// `INSERT INTO target <the view's SELECT>` just before creating the view (withBackfills). The rollups of
// 011–013 and 051–053 spell theirs out and stay so: applied files are checksummed and must not change.
// A backfill over a large spend_logs takes minutes (spend_scope_daily at 100M calls: ~75 s) and a runner can
// die in it; the next runner must not add the same rows twice: runBackfill. So a `{{backfill}}` view must be
// the only writer of its target (a new table of the same migration): a re-run clears the target first.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { localTable, shardingKey } from '../cluster/shardingKeys.js';
import { pollUntil } from '../retry.js';
import { databaseIdent, Sql, sql } from './sql.js';
import type { Warehouse } from './warehouse.js';

export const MIGRATIONS_DIR = new URL('../../clickhouse/', import.meta.url).pathname;

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  text: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(file.split('_')[0]),
        name: file.replace(/\.sql$/, ''),
        checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
        text,
      };
    });
}

const ENGINE = /ENGINE\s*=\s*(Summing|Aggregating|Replacing|Collapsing)?MergeTree\(([^)]*)\)/;
const CREATE_TABLE = /CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+`?(\w+)`?/i;
const CREATE_VIEW = /^CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+`?(\w+)`?/i;
/** `ALTER TABLE [db.]t [ON CLUSTER c] ADD COLUMN name …`: 18.16 has no ADD COLUMN IF NOT EXISTS. */
const ADD_COLUMN = /^ALTER\s+TABLE\s+(?:`?(\w+)`?\.)?`?(\w+)`?\s+(?:ON\s+CLUSTER\s+\S+\s+)?ADD\s+COLUMN\s+`?(\w+)`?/i;
const ALTER_TABLE = /^ALTER\s+TABLE\s+`?(\w+)`?/i;

/**
 * Cluster mode (docs/scaling.md): a MergeTree table `t` becomes `t_local`, Replicated on every shard, plus a
 * Distributed `t` over it sharded by src/cluster/shardingKeys.ts, so the rest of the code keeps using `t`.
 * Materialized views read and write the local tables (each shard rolls up its own rows). Names are
 * qualified with the database because ON CLUSTER statements run on other servers.
 */
function renderForCluster(statement: string, cluster: string, database: string): string[] {
  const db = databaseIdent(database).text;
  const onCluster = `ON CLUSTER ${databaseIdent(cluster).text}`;
  const table = CREATE_TABLE.exec(statement)?.[1];
  if (table && ENGINE.test(statement)) {
    const local = localTable(table);
    const replicated = statement
      .replace(CREATE_TABLE, `CREATE TABLE IF NOT EXISTS ${db}.${local}`)
      .replace('{{on_cluster}}', onCluster)
      .replace(ENGINE, (_m, kind: string | undefined, args: string) => {
        const zkPath = `'/clickhouse/tables/{shard}/${database}/${local}', '{replica}'`;
        return `ENGINE = Replicated${kind ?? ''}MergeTree(${zkPath}${args.trim() ? `, ${args}` : ''})`;
      });
    const distributed = createDistributed(cluster, database, table, `AS ${db}.${local}`, shardingKey(table, statement));
    return [replicated, distributed];
  }
  const view = CREATE_VIEW.exec(statement)?.[1];
  if (view) {
    return [
      statement
        .replace(CREATE_VIEW, `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${view}`)
        .replace('{{on_cluster}}', onCluster)
        .replace(/\bTO\s+`?(\w+)`?/, (_m, target: string) => `TO ${db}.${localTable(target)}`)
        .replace(/\bFROM\s+`?(\w+)`?/, (_m, source: string) => `FROM ${db}.${localTable(source)}`),
    ];
  }
  // A column is added to the local tables; the runner then re-creates the Distributed table over them
  // (recreateDistributed).
  const altered = ALTER_TABLE.exec(statement)?.[1];
  if (altered) {
    // Without ON CLUSTER the local table of one node would change and the Distributed table of all; other
    // ALTERs would change the local tables and leave the Distributed table as it was.
    if (!statement.includes('{{on_cluster}}')) throw new Error(`ALTER TABLE ${altered} needs {{on_cluster}}`);
    if (!/\bADD\s+COLUMN\b/i.test(statement)) throw new Error(`ALTER TABLE ${altered}: only ADD COLUMN on a cluster`);
    return [
      statement.replace(ALTER_TABLE, `ALTER TABLE ${db}.${localTable(altered)}`).replace('{{on_cluster}}', onCluster),
    ];
  }
  // Backfills (INSERT … SELECT) run once, through the Distributed tables.
  return [statement.replaceAll('{{on_cluster}}', onCluster)];
}

const BACKFILL = /\s*\{\{backfill\}\}/;
const VIEW_TARGET_SELECT = /\bTO\s+(`?\w+`?)\s+AS\s+(SELECT\b[\s\S]*)$/i;

/** A `{{backfill}}` view: its name, its target and the INSERT of its SELECT into the target. */
interface Backfill {
  view: string;
  target: string;
  insert: string;
}

function backfillOf(statement: string): Backfill | null {
  if (!BACKFILL.test(statement)) return null;
  const view = statement.replace(BACKFILL, '');
  const name = CREATE_VIEW.exec(view)?.[1];
  const parts = name ? VIEW_TARGET_SELECT.exec(view) : null;
  if (!(name && parts?.[1] && parts[2])) {
    throw new Error(`{{backfill}} belongs in CREATE MATERIALIZED VIEW … TO table {{backfill}} AS SELECT …`);
  }
  const target = parts[1].replaceAll('`', '');
  return { view: name, target, insert: `INSERT INTO ${parts[1]} ${parts[2]}` };
}

/** A view marked `{{backfill}}` becomes the insert of its SELECT into its target, then the view itself. */
function withBackfills(statement: string): string[] {
  const backfill = backfillOf(statement);
  return backfill ? [backfill.insert, statement.replace(BACKFILL, '')] : [statement];
}

/** A migration's statements as written, without comments. */
function statementsOf(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Splits a migration into statements and fills in the cluster-dependent parts. */
export function renderMigration(text: string, cluster: string | null, database: string): string[] {
  const statements = statementsOf(text).flatMap(withBackfills);
  if (!cluster) return statements.map((s) => s.replaceAll('{{on_cluster}}', ''));
  return statements.flatMap((s) => renderForCluster(s, cluster, database));
}

const appliedRow = z.object({ version: z.coerce.number(), checksum: z.string() });

async function appliedMigrations(warehouse: Warehouse): Promise<Map<number, string>> {
  const rows = await warehouse.rows(sql`SELECT version, checksum FROM schema_migrations`, appliedRow);
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

// Deletes the lock only if we still hold it (compare-and-delete); extends it only if we still hold it.
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const EXTEND_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const LOCK_MS = 120_000;
/** How long a runner waits for another's migrations: backfills over a large spend_logs take minutes. */
const LOCK_WAIT_MS = 30 * 60_000;
/** How long a boot may spend in migrations: waiting for another runner, then its own backfills. */
export const MIGRATION_BOOT_MS = 2 * LOCK_WAIT_MS;

/**
 * The lock lives LOCK_MS after its holder died, and is extended every third of that while its holder runs:
 * a backfill longer than LOCK_MS must not let a second runner in to run the same migration beside it.
 */
async function withLock<T>(redis: Redis, key: string, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  await pollUntil(async () => (await redis.set(key, token, 'PX', LOCK_MS, 'NX')) === 'OK', {
    everyMs: 200,
    timeoutMs: LOCK_WAIT_MS,
    timeoutError: () => new Error(`timed out waiting for migration lock ${key}`),
  });
  const extend = setInterval(() => {
    redis.eval(EXTEND_LOCK, 1, key, token, LOCK_MS).catch(() => {}); // a missed extension: the next one tries again
  }, LOCK_MS / 3);
  try {
    return await fn();
  } finally {
    clearInterval(extend);
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
}

const countRow = z.object({ c: z.coerce.number() });
/** The `c` of a `SELECT count() AS c …` (the system tables the runner asks about). */
const countOf = async (warehouse: Warehouse, query: Sql) => (await warehouse.rows(query, countRow))[0]?.c ?? 0;
const tableExists = async (warehouse: Warehouse, name: string) =>
  (await countOf(
    warehouse,
    sql`SELECT count() AS c FROM system.tables WHERE database = ${warehouse.database} AND name = ${name}`,
  )) === 1;

/**
 * A backfill that can be run again: if the view exists, an earlier runner backfilled and created it and
 * stopped before recording the migration — nothing to add. Otherwise whatever an earlier runner's backfill
 * left in the target (all of it or part) is removed before it runs again: nothing else writes there while
 * the view does not exist. A backfill whose runner died may still run on the server (the query outlives
 * its client): it carries a fixed query id, and the next runner waits for it to end before clearing.
 */
async function runBackfill(warehouse: Warehouse, backfill: Backfill): Promise<void> {
  if (await tableExists(warehouse, backfill.view)) return;
  const queryId = `spendhouse-backfill-${warehouse.database}-${backfill.view}`;
  await pollUntil(
    async () =>
      (await countOf(warehouse, sql`SELECT count() AS c FROM system.processes WHERE query_id = ${queryId}`)) === 0,
    { everyMs: 1000, timeoutMs: LOCK_WAIT_MS },
  );
  const db = databaseIdent(warehouse.database).text;
  const { cluster } = warehouse;
  const target = cluster
    ? `${db}.${localTable(backfill.target)} ON CLUSTER ${databaseIdent(cluster).text}`
    : `${db}.${backfill.target}`;
  await warehouse.exec(new Sql(`TRUNCATE TABLE ${target}`));
  await warehouse.exec(new Sql(backfill.insert), { queryId });
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export async function migrate(
  warehouse: Warehouse,
  redis: Redis,
  migrations = loadMigrations(),
): Promise<MigrateResult> {
  return withLock(redis, `migrations:${warehouse.database}`, async () => {
    for (const statement of renderMigration(SCHEMA_MIGRATIONS_DDL, warehouse.cluster, warehouse.database)) {
      await warehouse.exec(new Sql(statement));
    }
    const done = await appliedMigrations(warehouse);
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const m of migrations) {
      const existing = done.get(m.version);
      if (existing !== undefined) {
        if (existing !== m.checksum) {
          throw new Error(
            `migration ${m.name} was changed after it was applied (checksum ${existing} ≠ ${m.checksum})`,
          );
        }
        result.skipped.push(m.name);
        continue;
      }
      const { cluster } = warehouse;
      const backfills = new Map(
        statementsOf(m.text)
          .map(backfillOf)
          .filter((b) => b !== null)
          .map((b) => [b.insert, b]),
      );
      for (const statement of renderMigration(m.text, cluster, warehouse.database)) {
        const backfill = backfills.get(statement);
        if (backfill) {
          await runBackfill(warehouse, backfill);
          continue;
        }
        const added = ADD_COLUMN.exec(statement);
        if (!(added && (await columnExists(warehouse, added)))) await warehouse.exec(new Sql(statement));
        if (added && cluster) await recreateDistributed(warehouse, cluster, (added[2] ?? '').replace(/_local$/, ''));
      }
      await warehouse.insert('schema_migrations', [
        { version: m.version, name: m.name, checksum: m.checksum, applied_at: Math.floor(Date.now() / 1000) },
      ]);
      result.applied.push(m.name);
    }
    return result;
  });
}

/**
 * An ADD COLUMN whose column exists was applied by an earlier runner that stopped before recording the
 * migration (or, on a cluster, before its next statement): skipping it keeps every migration re-runnable.
 */
async function columnExists(warehouse: Warehouse, added: RegExpExecArray): Promise<boolean> {
  const [, database = warehouse.database, table = '', column = ''] = added;
  const count = await countOf(
    warehouse,
    sql`SELECT count() AS c FROM system.columns WHERE database = ${database} AND table = ${table} AND name = ${column}`,
  );
  return count > 0;
}

const columnRow = z.object({
  name: z.string(),
  type: z.string(),
  default_kind: z.string(),
  default_expression: z.string(),
});

/**
 * After a column was added to `<table>_local` on a cluster: the Distributed `table` in front of it is
 * created again with the local table's columns. 18.16 refuses ALTER … ON CLUSTER on a Distributed table whose
 * shards replicate internally ("isn't replicated"), and a Distributed table that copies a MATERIALIZED column
 * computes it on insert and sends it, which the shards refuse: here such a column is an ALIAS, so inserts
 * leave it to the shards and reads name it, reading the shards' stored values. The Distributed table holds
 * no rows (cluster inserts are synchronous: shardingKeys.ts); while it is re-created (a moment, at the boot
 * of the first upgraded node) reads and writes through it on other nodes fail and are retried. Its sharding
 * key must be known without its CREATE statement: an explicit key in src/cluster/shardingKeys.ts.
 */
async function recreateDistributed(warehouse: Warehouse, cluster: string, table: string): Promise<void> {
  const columnsOf = (name: string) =>
    warehouse.rows(
      sql`SELECT name, type, default_kind, default_expression FROM system.columns
        WHERE database = ${warehouse.database} AND table = ${name}`,
      columnRow,
    );
  const local = localTable(table);
  const [wanted, present] = await Promise.all([columnsOf(local), columnsOf(table)]);
  const have = new Set(present.map((c) => c.name));
  if (wanted.every((c) => have.has(c.name))) return;
  const columns = wanted.map((c) => {
    const kind = c.default_kind === 'MATERIALIZED' ? 'ALIAS' : c.default_kind;
    return `${databaseIdent(c.name).text} ${c.type}${kind ? ` ${kind} ${c.default_expression}` : ''}`;
  });
  const db = databaseIdent(warehouse.database).text;
  await warehouse.exec(new Sql(`DROP TABLE IF EXISTS ${db}.${table} ON CLUSTER ${databaseIdent(cluster).text}`));
  await warehouse.exec(
    new Sql(createDistributed(cluster, warehouse.database, table, `(${columns.join(', ')})`, shardingKey(table, ''))),
  );
}

/** The Distributed `table` over `<table>_local` on every node; `structure` is `AS <local>` or a column list. */
function createDistributed(cluster: string, database: string, table: string, structure: string, key: string): string {
  const db = databaseIdent(database).text;
  const name = databaseIdent(cluster).text;
  return `CREATE TABLE IF NOT EXISTS ${db}.${table} ON CLUSTER ${name} ${structure} ENGINE = Distributed(${name}, ${db}, ${localTable(table)}, ${key})`;
}

/** True when every migration in the folder is recorded; readiness uses it. */
export async function migrationsUpToDate(warehouse: Warehouse, migrations = loadMigrations()): Promise<boolean> {
  const done = await appliedMigrations(warehouse);
  return migrations.every((m) => done.get(m.version) === m.checksum);
}

const SCHEMA_MIGRATIONS_DDL = `
CREATE TABLE IF NOT EXISTS schema_migrations {{on_cluster}} (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime
) ENGINE = MergeTree() ORDER BY version;
`;
