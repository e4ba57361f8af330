// The tag-set index for raw tag questions (src/query/tagSetIndex.ts) in the states a deployment meets: a
// spend_logs without the tags_hash column (migrations off or behind: the tags are read), calls stored before
// migration 054 (parts without the column, computed when read), and tag sets that occur only on a window's
// first or last partial day (the index reads whole days around the window).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { buildApp } from '../src/app.js';
import { loadMigrations, renderMigration } from '../src/clickhouse/migrate.js';
import { Sql, sql } from '../src/clickhouse/sql.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const DAY = 24 * HOUR_MS;
const FROM = BASE_MS + 5 * HOUR_MS;
const TO = BASE_MS + 2 * DAY + 7 * HOUR_MS;

const call = (request_id: string, start_ms: number, tags: string[], cost_nano: number): CallRow => ({
  request_id,
  start_ms,
  team: 'team-a',
  cost_nano,
  tags,
});

/** Calls stored before the column exists: the window's middle day holds the common sets. */
const OLD_CALLS = [
  call('o-1', BASE_MS + DAY + HOUR_MS, ['env:prod', 'feature:chat'], 1_000),
  call('o-2', BASE_MS + DAY + 2 * HOUR_MS, ['env:prod'], 20_000),
  call('o-3', BASE_MS + DAY + 3 * HOUR_MS, [], 300_000),
  call('o-4', BASE_MS + 6 * HOUR_MS, ['env:dev', 'feature:chat'], 4_000_000),
];
/** Sets seen only on the first or the last (partial) day, one of them also before the window that day. */
const EDGE_CALLS = [
  call('e-first', BASE_MS + 6 * HOUR_MS, ['only:first'], 50_000_000),
  call('e-first-early', BASE_MS + HOUR_MS, ['only:first'], 600_000_000),
  call('e-last', BASE_MS + 2 * DAY + 6 * HOUR_MS, ['only:last'], 7_000_000_000),
];

describe('the tag-set index across upgrades and window edges', () => {
  let t: TestApp;
  const ask = async (app: TestApp['app'], tags: Record<string, unknown>) => {
    const res = await app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: {
        from: new Date(FROM).toISOString(),
        to: new Date(TO).toISOString(),
        tags,
        metrics: ['cost', 'requests', 'p95_latency_ms'],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { source_table: string; tag_sets_matched: number | null; totals: { cost_nano: number } };
    assert.equal(body.source_table, 'spend_logs', 'the window is not whole hours: raw answers');
    return { sets: body.tag_sets_matched, cost: body.totals.cost_nano };
  };

  before(async () => {
    t = await startTestApp();
    await t.app.warehouse.exec(sql`ALTER TABLE spend_logs DROP COLUMN tags_hash`);
    await insertCalls(t.app.warehouse, OLD_CALLS);
  });
  after(() => t?.close());

  it('without the tags_hash column, raw tag questions read the tags (migration 054 not applied yet)', async () => {
    // A second process on the same database, as one started with migrations off would be.
    const app = await buildApp({ config: t.config });
    try {
      assert.deepEqual(await ask(app, { all: ['feature:chat'] }), { sets: null, cost: 4_001_000 });
    } finally {
      await app.close();
    }
  });

  it('calls stored before migration 054 are found through the index before their parts merge', async () => {
    const migration = loadMigrations().find((m) => m.version === 54);
    assert.ok(migration, 'clickhouse/054_spend_logs_tags_hash.sql');
    for (const statement of renderMigration(migration.text, null, t.app.warehouse.database)) {
      await t.app.warehouse.exec(new Sql(statement));
    }
    const stored = await t.app.warehouse.rows(
      sql`SELECT count() AS c FROM system.parts_columns
        WHERE database = currentDatabase() AND table = 'spend_logs' AND column = 'tags_hash' AND active`,
      z.object({ c: z.coerce.number() }),
    );
    assert.equal(stored[0]?.c, 0, 'the old parts have no tags_hash on disk');
    assert.deepEqual(await ask(t.app, { all: ['feature:chat'] }), { sets: 2, cost: 4_001_000 });
    assert.deepEqual(await ask(t.app, { none: ['env:dev'] }), { sets: 3, cost: 321_000 });
    assert.deepEqual(await ask(t.app, { any: ['env:prod'], none: ['feature:chat'] }), { sets: 1, cost: 20_000 });
  });

  it('finds tag sets that occur only on the first or last partial day of the window, and only inside it', async () => {
    await insertCalls(t.app.warehouse, EDGE_CALLS);
    assert.deepEqual(await ask(t.app, { any: ['only:first', 'only:last'] }), { sets: 2, cost: 7_050_000_000 });
    assert.deepEqual(await ask(t.app, { all: ['only:first'] }), { sets: 1, cost: 50_000_000 });
    assert.deepEqual(await ask(t.app, { all: ['only:last'] }), { sets: 1, cost: 7_000_000_000 });
    assert.deepEqual(await ask(t.app, { any: [] }), { sets: 0, cost: 0 });
  });
});
