// Migrations against the real server: applied once, recorded, idempotent, safe with concurrent runners,
// cluster rendering, and readiness reporting what is missing.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { z } from 'zod';
import { loadMigrations, migrate, renderMigration } from '../src/clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { sql } from '../src/clickhouse/sql.js';
import { createRedis } from '../src/redis/plugin.js';
import { pollUntil } from '../src/retry.js';
import { dropTestState, startTestApp, testConfig } from './helpers/testApp.js';

test('every migration applies once; a second and concurrent runs change nothing', async (t) => {
  const config = testConfig();
  t.after(() => dropTestState(config));
  await ensureDatabase(config.clickhouse);
  const warehouses = [createWarehouse(config.clickhouse), createWarehouse(config.clickhouse)];
  const redis = [createRedis(config.redis), createRedis(config.redis)];
  t.after(async () => {
    for (const w of warehouses) await w.client.close();
    for (const r of redis) r.disconnect();
  });
  const all = loadMigrations().map((m) => m.name);
  // Two processes starting at once: the lock serialises them; exactly one applies each migration.
  const results = await Promise.all([migrate(warehouses[0]!, redis[0]!), migrate(warehouses[1]!, redis[1]!)]);
  const applied = results.flatMap((r) => r.applied).sort();
  assert.deepEqual(applied, [...all].sort());
  const again = await migrate(warehouses[0]!, redis[0]!);
  assert.deepEqual(again.applied, []);
  assert.deepEqual(again.skipped, all);
  const recorded = await warehouses[0]!.rows(
    sql`SELECT name, count() AS n FROM schema_migrations GROUP BY name ORDER BY name`,
    z.object({ name: z.string(), n: z.coerce.number() }),
  );
  assert.deepEqual(
    recorded,
    [...all].sort().map((name) => ({ name, n: 1 })),
  );
});

/** A fresh database, its clients and an empty folder of migrations for one test. */
const countRow = z.object({ c: z.coerce.number() });

async function scratchMigrations(t: TestContext) {
  const config = testConfig();
  t.after(() => dropTestState(config));
  await ensureDatabase(config.clickhouse);
  const warehouse = createWarehouse(config.clickhouse);
  const redis = createRedis(config.redis);
  t.after(async () => {
    await warehouse.client.close();
    redis.disconnect();
  });
  return { warehouse, redis, dir: mkdtempSync(join(tmpdir(), 'migrations-')) };
}

test('a migration edited after it was applied is refused', async (t) => {
  const { warehouse, redis, dir } = await scratchMigrations(t);
  writeFileSync(
    join(dir, '001_t.sql'),
    'CREATE TABLE IF NOT EXISTS t {{on_cluster}} (a UInt8) ENGINE = MergeTree() ORDER BY a;',
  );
  await migrate(warehouse, redis, loadMigrations(dir));
  writeFileSync(join(dir, '001_t.sql'), 'CREATE TABLE IF NOT EXISTS t (a UInt16) ENGINE = MergeTree() ORDER BY a;');
  await assert.rejects(migrate(warehouse, redis, loadMigrations(dir)), /001_t was changed after it was applied/);
});

test('a migration that adds a column re-runs after a runner stopped between its statements', async (t) => {
  const { warehouse, redis, dir } = await scratchMigrations(t);
  writeFileSync(join(dir, '001_t.sql'), 'CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree() ORDER BY a;');
  await migrate(warehouse, redis, loadMigrations(dir));
  const addColumns =
    'ALTER TABLE t {{on_cluster}} ADD COLUMN b UInt8 MATERIALIZED a + 1;\nALTER TABLE t ADD COLUMN c UInt8;';
  writeFileSync(join(dir, '002_t_columns.sql'), addColumns);
  // The first statement ran, then the runner stopped: the migration is not recorded, the column exists.
  await warehouse.exec(sql`ALTER TABLE t ADD COLUMN b UInt8 MATERIALIZED a + 1`);
  const result = await migrate(warehouse, redis, loadMigrations(dir));
  assert.deepEqual(result.applied, ['002_t_columns']);
  await warehouse.exec(sql`INSERT INTO t (a) VALUES (4)`);
  const rows = await warehouse.rows(sql`SELECT b, c FROM t`, z.object({ b: z.coerce.number(), c: z.coerce.number() }));
  assert.deepEqual(rows, [{ b: 5, c: 0 }]);
});

test('a view marked {{backfill}} is preceded by the insert of its own SELECT, on one server and a cluster', () => {
  const text = `CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_mv {{on_cluster}} TO spend_hourly {{backfill}} AS
SELECT a, 1 AS c FROM spend_logs GROUP BY a;`;
  assert.deepEqual(renderMigration(text, null, 'db'), [
    'INSERT INTO spend_hourly SELECT a, 1 AS c FROM spend_logs GROUP BY a',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_mv  TO spend_hourly AS\nSELECT a, 1 AS c FROM spend_logs GROUP BY a',
  ]);
  // The backfill runs once, through the Distributed tables; the view reads and writes the shards' tables.
  assert.deepEqual(renderMigration(text, 'spend', 'db'), [
    'INSERT INTO spend_hourly SELECT a, 1 AS c FROM spend_logs GROUP BY a',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.spend_hourly_mv ON CLUSTER `spend` TO `db`.spend_hourly_local AS\nSELECT a, 1 AS c FROM `db`.spend_logs_local GROUP BY a',
  ]);
  assert.throws(
    () => renderMigration('INSERT INTO t {{backfill}} SELECT 1', null, 'db'),
    /belongs in CREATE MATERIALIZED VIEW/,
  );
});

/**
 * Calls (a, 1), (a, 2), (b, 5) in `calls`, an empty rollup `by_team`, and 002_by_team_mv written: a view
 * marked {{backfill}} not yet applied. `totals` reads the rollup per team.
 */
async function callsBeforeRollup(t: TestContext) {
  const { warehouse, redis, dir } = await scratchMigrations(t);
  writeFileSync(
    join(dir, '001_calls.sql'),
    `CREATE TABLE IF NOT EXISTS calls {{on_cluster}} (team String, cost Int64) ENGINE = MergeTree() ORDER BY team;
CREATE TABLE IF NOT EXISTS by_team {{on_cluster}} (team String, cost Int64) ENGINE = SummingMergeTree() ORDER BY team;`,
  );
  await migrate(warehouse, redis, loadMigrations(dir));
  await warehouse.exec(sql`INSERT INTO calls VALUES ('a', 1), ('a', 2), ('b', 5)`);
  writeFileSync(
    join(dir, '002_by_team_mv.sql'),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS by_team_mv {{on_cluster}} TO by_team {{backfill}} AS
SELECT team, sum(cost) AS cost FROM calls GROUP BY team;`,
  );
  const totals = () =>
    warehouse.rows(
      sql`SELECT team, toString(sum(cost)) AS cost FROM by_team GROUP BY team ORDER BY team`,
      z.object({ team: z.string(), cost: z.coerce.number() }),
    );
  const applyMigrations = async () => (await migrate(warehouse, redis, loadMigrations(dir))).applied;
  return { warehouse, totals, applyMigrations };
}

test('a derived backfill rolls up the rows that were there before the view, and the view the rows after', async (t) => {
  const { warehouse, totals, applyMigrations } = await callsBeforeRollup(t);
  assert.deepEqual(await applyMigrations(), ['002_by_team_mv']);
  await warehouse.exec(sql`INSERT INTO calls VALUES ('b', 10), ('c', 100)`);
  assert.deepEqual(await totals(), [
    { team: 'a', cost: 3 },
    { team: 'b', cost: 15 },
    { team: 'c', cost: 100 },
  ]);
});

test('a backfill whose runner died is run again from scratch, never added twice', async (t) => {
  const { warehouse, totals, applyMigrations } = await callsBeforeRollup(t);
  const once = [
    { team: 'a', cost: 3 },
    { team: 'b', cost: 5 },
  ];
  // A runner killed during its backfill (the boot timed out, the process was killed): part of the rows are
  // in the target, the view does not exist, the migration is not recorded.
  await warehouse.exec(sql`INSERT INTO by_team VALUES ('a', 3)`);
  assert.deepEqual(await applyMigrations(), ['002_by_team_mv']);
  assert.deepEqual(await totals(), once);
  // A runner killed after it created the view, before it recorded the migration: the next adds nothing.
  await warehouse.exec(sql`ALTER TABLE schema_migrations DELETE WHERE version = 2`);
  await pollUntil(
    async () =>
      (await warehouse.rows(sql`SELECT count() AS c FROM schema_migrations WHERE version = 2`, countRow))[0]?.c === 0,
    { everyMs: 50, timeoutMs: 10_000 },
  );
  assert.deepEqual(await applyMigrations(), ['002_by_team_mv']);
  assert.deepEqual(await totals(), once);
  // And the view rolls up what comes after.
  await warehouse.exec(sql`INSERT INTO calls VALUES ('b', 10)`);
  assert.deepEqual(await totals(), [
    { team: 'a', cost: 3 },
    { team: 'b', cost: 15 },
  ]);
});

test('cluster mode renders Replicated local tables, Distributed tables over them and views on the locals', () => {
  const text = `-- comment
CREATE TABLE IF NOT EXISTS spend_hourly {{on_cluster}} (a UInt8, c Int64) ENGINE = SummingMergeTree(c) ORDER BY a;
CREATE TABLE IF NOT EXISTS spend_logs {{on_cluster}} (a UInt8) ENGINE = MergeTree() ORDER BY a;
INSERT INTO spend_hourly SELECT a, 1 FROM spend_logs;
CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_mv {{on_cluster}} TO spend_hourly AS SELECT a, 1 AS c FROM spend_logs;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN b UInt64 MATERIALIZED a + 1;`;
  assert.deepEqual(renderMigration(text, null, 'db'), [
    'CREATE TABLE IF NOT EXISTS spend_hourly  (a UInt8, c Int64) ENGINE = SummingMergeTree(c) ORDER BY a',
    'CREATE TABLE IF NOT EXISTS spend_logs  (a UInt8) ENGINE = MergeTree() ORDER BY a',
    'INSERT INTO spend_hourly SELECT a, 1 FROM spend_logs',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_mv  TO spend_hourly AS SELECT a, 1 AS c FROM spend_logs',
    'ALTER TABLE spend_logs  ADD COLUMN b UInt64 MATERIALIZED a + 1',
  ]);
  assert.deepEqual(renderMigration(text, 'spend', 'db'), [
    "CREATE TABLE IF NOT EXISTS `db`.spend_hourly_local ON CLUSTER `spend` (a UInt8, c Int64) ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/spend_hourly_local', '{replica}', c) ORDER BY a",
    'CREATE TABLE IF NOT EXISTS `db`.spend_hourly ON CLUSTER `spend` AS `db`.spend_hourly_local ENGINE = Distributed(`spend`, `db`, spend_hourly_local, cityHash64(a))',
    "CREATE TABLE IF NOT EXISTS `db`.spend_logs_local ON CLUSTER `spend` (a UInt8) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/spend_logs_local', '{replica}') ORDER BY a",
    'CREATE TABLE IF NOT EXISTS `db`.spend_logs ON CLUSTER `spend` AS `db`.spend_logs_local ENGINE = Distributed(`spend`, `db`, spend_logs_local, cityHash64(request_id))',
    'INSERT INTO spend_hourly SELECT a, 1 FROM spend_logs',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.spend_hourly_mv ON CLUSTER `spend` TO `db`.spend_hourly_local AS SELECT a, 1 AS c FROM `db`.spend_logs_local',
    // A new column goes to the shards' tables (the runner then re-creates the Distributed table over them).
    'ALTER TABLE `db`.spend_logs_local ON CLUSTER `spend` ADD COLUMN b UInt64 MATERIALIZED a + 1',
  ]);
  assert.throws(() => renderMigration('ALTER TABLE t ADD COLUMN b UInt8', 'spend', 'db'), /needs \{\{on_cluster\}\}/);
  assert.throws(
    () => renderMigration('ALTER TABLE t {{on_cluster}} MODIFY COLUMN b UInt16', 'spend', 'db'),
    /only ADD COLUMN on a cluster/,
  );
  // Without an explicit key a table is sharded by the hash of its whole sorting key.
  const [, distributed] = renderMigration(
    'CREATE TABLE IF NOT EXISTS t {{on_cluster}} (h DateTime, tags Array(String), n UInt64) ENGINE = SummingMergeTree() ORDER BY (toStartOfHour(h), tags) SETTINGS index_granularity = 8192',
    'spend',
    'db',
  );
  assert.match(distributed ?? '', /Distributed\(`spend`, `db`, t_local, cityHash64\(toStartOfHour\(h\), tags\)\)$/);
});

test('readiness is 200 when all is well and 503 naming the dependency that failed', async (t) => {
  const { app, close } = await startTestApp();
  t.after(close);
  const live = await app.inject({ method: 'GET', url: '/health/liveliness' });
  assert.equal(live.statusCode, 200);
  const ready = await app.inject({ method: 'GET', url: '/health/readiness' });
  assert.equal(ready.statusCode, 200, ready.body);
  assert.equal(ready.json().status, 'ok');

  await app.warehouse.exec(sql`DROP TABLE schema_migrations`);
  const noMigrations = await app.inject({ method: 'GET', url: '/health/readiness' });
  assert.equal(noMigrations.statusCode, 503);
  assert.deepEqual(noMigrations.json().failed, ['migrations']);

  app.redis.disconnect();
  const noRedis = await app.inject({ method: 'GET', url: '/health/readiness' });
  assert.equal(noRedis.statusCode, 503);
  assert.ok(noRedis.json().failed.includes('redis'));
  assert.equal((await app.inject({ method: 'GET', url: '/health/liveliness' })).statusCode, 200);
});
