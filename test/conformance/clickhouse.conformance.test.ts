// The warehouse SQL proven on a current ClickHouse (issue 16, item 7): every migration, the worker's inserts
// of BatchEncoder rows, and every question the query API asks, run on ClickHouse 18.16 (the test server) and
// on ClickHouse 26.x in this process (chdb, the version docker-compose pins), with answers compared exactly.
// docs/clickhouse-compat.md says what is compared, what is normalised and how to read a failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { loadMigrations, migrate } from '../../src/clickhouse/migrate.js';
import { databaseIdent, Sql, sql } from '../../src/clickhouse/sql.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';
import { insertRowText } from '../../src/ingest/coalescer.js';
import { BatchEncoder } from '../../src/ingest/rows.js';
import { buildSelect, type SelectSpec } from '../../src/query/build.js';
import { RAW } from '../../src/query/catalog.js';
import { availableRollups, ROLLUPS } from '../../src/query/rollup.js';
import { scopeSpendNano } from '../../src/query/spendTotal.js';
import { tagSetIndex } from '../../src/query/tagSetIndex.js';
import { createRedis } from '../../src/redis/plugin.js';
import type { SpendRecord } from '../../src/spendRecord.js';
import { Comparison } from './compare.js';
import { CUSTOMERS, conformanceRecords, HOSTILE_REQUEST_IDS, keyHash, TAGS, TEAMS, USERS } from './dataset.js';
import { fixedQuestions, logDetailQuestions, logQuestions, PAGED_QUESTIONS, type Question } from './queryMatrix.js';
import { openServerPair, type ServerPair } from './servers.js';

/** Migrations up to here create the raw tables; the rest (rollups, backfills, tags_hash) run over stored calls. */
const RAW_TABLES_VERSION = 10;
const BATCH = 400;
const nameRow = z.object({ name: z.string() });

/**
 * The worker's insert path: encoded once, sent as JSONEachRow text (spend_logs and spend_payloads). Before
 * the later migrations the rows are written as the worker of that time did: only the columns that exist.
 */
async function insertLikeTheWorker(warehouse: Warehouse, records: readonly SpendRecord[]): Promise<void> {
  const existing = new Set(
    (
      await warehouse.rows(
        sql`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'spend_logs'`,
        nameRow,
      )
    ).map((c) => c.name),
  );
  const asStored = (line: string) =>
    JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(line) as object).filter(([k]) => existing.has(k))));
  for (let i = 0; i < records.length; i += BATCH) {
    const encoder = BatchEncoder.of(records.slice(i, i + BATCH));
    assert.deepEqual(encoder.refused, [], 'the dataset fits the columns');
    if (encoder.payloads()) await insertRowText(warehouse, 'spend_payloads', [encoder.payloads()]);
    await insertRowText(warehouse, 'spend_logs', [encoder.rows().split('\n').map(asStored).join('\n')]);
  }
}

const anyRow = z.record(z.string(), z.unknown());

/** Columns compared per table: all of them (MATERIALIZED ones named, so they are read) but the insert time. */
const NOT_COMPARED = new Set(['inserted_at', 'applied_at']);

async function tableDump(warehouse: Warehouse, table: string): Promise<string[]> {
  const columns = await warehouse.rows(
    sql`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${table}`,
    nameRow,
  );
  // By name: 18.16 lists MATERIALIZED columns after the others, current servers in table order.
  const names = columns
    .map((c) => c.name)
    .filter((n) => !NOT_COMPARED.has(n))
    .sort();
  const list = names.map((n) => databaseIdent(n).text).join(', ');
  const rows = await warehouse.rows(new Sql(`SELECT ${list} FROM ${databaseIdent(table).text}`), anyRow);
  return rows.map((r) => JSON.stringify(r)).sort();
}

describe('ClickHouse 18.16 and current ClickHouse (chdb) give identical answers', { timeout: 240_000 }, () => {
  let pair: ServerPair;
  let redis: Redis;
  let cmp: Comparison;
  const records = conformanceRecords();
  const startedAt = Date.now();

  before(async () => {
    pair = await openServerPair();
    redis = createRedis(pair.config.redis);
    cmp = new Comparison(pair);
  });

  after(async () => {
    redis?.disconnect();
    await pair?.close();
  });

  it('runs every migration, the backfills over calls stored before them', async () => {
    const since = cmp.differences.length;
    const migrations = loadMigrations();
    const early = migrations.filter((m) => m.version <= RAW_TABLES_VERSION);
    const late = migrations.filter((m) => m.version > RAW_TABLES_VERSION);
    const firstCalls = records.slice(0, 1200);
    const applied: string[][] = [];
    for (const side of [pair.old, pair.current]) {
      const first = await migrate(side.warehouse, redis, early);
      await insertLikeTheWorker(side.warehouse, firstCalls);
      const second = await migrate(side.warehouse, redis, migrations);
      applied.push([...first.applied, ...second.applied]);
      assert.deepEqual(
        second.skipped,
        early.map((m) => m.name),
      );
    }
    assert.deepEqual(
      applied[0],
      [...early, ...late].map((m) => m.name),
    );
    cmp.same('migrations', 'applied migrations', applied[0], applied[1]);
    // The rest arrive through the materialized views, in several inserts (several parts per table).
    await Promise.all([pair.old, pair.current].map((s) => insertLikeTheWorker(s.warehouse, records.slice(1200))));

    const schema = async (warehouse: Warehouse) => ({
      tables: await warehouse.rows(
        sql`SELECT name, engine, partition_key, sorting_key, primary_key FROM system.tables
            WHERE database = currentDatabase() ORDER BY name`,
        anyRow,
      ),
      // default_expression is left out: 18.16 prints a lambda as lambda(tuple(t), …), current servers as
      // t -> …; the values it computes (tags_hash) are compared row by row below. A materialized view's
      // column types are those its SELECT infers (18.16 says DateTime('Etc/UTC') where 26.7 says DateTime):
      // what it writes is compared in its target table.
      columns: await warehouse.rows(
        sql`SELECT table, name, default_kind, is_in_partition_key, is_in_sorting_key, is_in_primary_key,
              if(table IN (SELECT name FROM system.tables
                WHERE database = currentDatabase() AND engine = 'MaterializedView'), '', type) AS type
            FROM system.columns WHERE database = currentDatabase() ORDER BY table, name`,
        anyRow,
      ),
      migrations: await warehouse.rows(
        sql`SELECT version, name, checksum FROM schema_migrations ORDER BY version`,
        anyRow,
      ),
    });
    const [oldSchema, currentSchema] = await Promise.all([schema(pair.old.warehouse), schema(pair.current.warehouse)]);
    cmp.same('schema', 'tables', oldSchema.tables, currentSchema.tables);
    cmp.same('schema', 'columns', oldSchema.columns, currentSchema.columns);
    cmp.same('schema', 'schema_migrations', oldSchema.migrations, currentSchema.migrations);
    cmp.assertNoneSince(since);
  });

  it('answers every /spend/query, LiteLLM report and logs question the same', async () => {
    const since = cmp.differences.length;
    const sourceTables = new Set<string>();
    let tagSetsMatched = 0;
    let splitAnswered = 0;
    const questions = fixedQuestions();
    // Two at a time: the answers are independent, and the 18.16 server answers while chdb computes.
    for (let i = 0; i < questions.length; i += 2) {
      const answers = await Promise.all(questions.slice(i, i + 2).map((q) => cmp.question(q)));
      for (const [old] of answers) {
        const body = old.body as { source_table?: string; tag_sets_matched?: number | null; tag_attribution?: string };
        if (
          old.status === 200 &&
          body?.tag_attribution === 'split' &&
          !('tag_rows_overlap' in body && body.tag_rows_overlap)
        )
          splitAnswered++;
        if (body?.source_table) sourceTables.add(body.source_table);
        if (typeof body?.tag_sets_matched === 'number') tagSetsMatched++;
      }
    }
    cmp.assertNoneSince(since);
    // The matrix reached every table the planner can choose, and raw tag questions through the index.
    // (spend_scope_daily is one catalog per scope: its table once.)
    assert.deepEqual([...sourceTables].sort(), [...new Set([...ROLLUPS.map((r) => r.table), RAW.table])].sort());
    assert.ok(tagSetsMatched > 10, `tag-set index used ${tagSetsMatched} times`);
    assert.ok(splitAnswered >= 10, `split tag attribution answered ${splitAnswered} times`);
  });

  it('pages /spend/query and the logs the same, by cursor and by page number', async () => {
    const since = cmp.differences.length;
    /** Asks `first`, then the pages after it by the cursor each answer gives (the 18.16 one: both must agree). */
    const follow = async (first: Question, pages: number) => {
      let q = first;
      let answer = (await cmp.question(q))[0];
      for (let page = 1; page < pages; page++) {
        const cursor = (answer.body as { next_cursor?: string | null })?.next_cursor;
        if (!cursor) break;
        q = q.body
          ? { ...q, body: { ...q.body, cursor } }
          : { ...q, url: `${first.url}&cursor=${encodeURIComponent(cursor)}` };
        answer = (await cmp.question(q))[0];
      }
    };
    for (const q of PAGED_QUESTIONS) await follow(q, 6);
    for (const q of logQuestions()) {
      const [old] = await cmp.question(q);
      const cursor = (old.body as { next_cursor?: string | null }).next_cursor;
      if (cursor) await follow({ ...q, url: `${q.url}&cursor=${encodeURIComponent(cursor)}` }, 2);
      const totalPages = (old.body as { total_pages?: number }).total_pages ?? 0;
      // Offset pages: the second and the last (the pager locates them by hour counts).
      for (const page of new Set([2, totalPages])) {
        if (page > 1) await cmp.question({ ...q, url: `${q.url}&page=${page}` });
      }
    }
    const ids = [...HOSTILE_REQUEST_IDS, 'conf-00000', 'conf-02999', 'conf-03001', 'no-such-call', "'; DROP TABLE x"];
    for (const q of logDetailQuestions(ids)) await cmp.question(q);
    cmp.assertNoneSince(since);
  });

  it('gives the same spend totals, tag-set index and raw tag answers with and without the index', async () => {
    const since = cmp.differences.length;
    const windows = [
      { start: new Date(0), end: null },
      { start: new Date('2026-10-24T05:17:23.456Z'), end: new Date('2026-10-30T00:00:00Z') },
      { start: new Date('2026-10-25T00:00:00Z'), end: new Date('2026-10-25T01:00:00Z') },
      { start: new Date('2026-10-22T13:00:00Z'), end: new Date('2026-11-01T06:00:00.500Z') },
    ];
    const scopes = [
      { key_hashes: [keyHash(0)] },
      { team_id: TEAMS[2] },
      { user_id: USERS[5] },
      { customer_id: CUSTOMERS[3] },
      { tag: TAGS[4] },
      { team_id: TEAMS[3], tag: TAGS[5] },
      { key_hashes: ['', keyHash(1)] },
    ];
    for (const scope of scopes) {
      for (const window of windows) {
        const [old, current] = await Promise.all([
          scopeSpendNano(pair.old.warehouse, scope, window),
          scopeSpendNano(pair.current.warehouse, scope, window),
        ]);
        cmp.same('spend_total', JSON.stringify({ scope, window }), old, current);
      }
    }
    const tagSpecs: SelectSpec[] = [
      { tags: { all: [TAGS[0]] } },
      { tags: { any: [TAGS[4], TAGS[6]], none: [TAGS[1]] } },
      { tags: { none: [TAGS[0]] } },
      { tags: {}, filters: { tag: { in: [null] } } },
    ].flatMap((t) =>
      [{}, { teamId: TEAMS[0] }].map(
        (scope): SelectSpec => ({
          source: RAW,
          window: { fromMs: Date.UTC(2026, 9, 24, 5, 17, 23, 456), toMs: Date.UTC(2026, 9, 30) },
          timezone: 'UTC',
          granularity: 'day',
          groupBy: ['model'],
          filters: {},
          metrics: ['cost', 'requests', 'p95_latency_ms'],
          scope,
          order: [
            { field: 'bucket', direction: 'asc' },
            { field: 'model', direction: 'asc' },
          ],
          ...t,
        }),
      ),
    );
    for (const spec of tagSpecs) {
      const what = JSON.stringify({ tags: spec.tags, filters: spec.filters, scope: spec.scope });
      const answers = await Promise.all(
        [pair.old, pair.current].map(async (side) => {
          const index = await tagSetIndex(side.warehouse, spec, await availableRollups(side.warehouse));
          assert.ok(index, `the index answers ${what} on ${side.name}`);
          const withIndex = await side.warehouse.rows(
            buildSelect({ ...spec, tagSetCondition: index.condition }),
            anyRow,
          );
          const withoutIndex = await side.warehouse.rows(buildSelect(spec), anyRow);
          cmp.same('tag_index', `${side.name}: raw with and without the index ${what}`, withoutIndex, withIndex);
          return { condition: index.condition.text, sets: index.sets, rows: withIndex };
        }),
      );
      cmp.same('tag_index', what, answers[0], answers[1]);
    }
    cmp.assertNoneSince(since);
  });

  it('stores the same rows in every table (after merging parts)', async () => {
    const since = cmp.differences.length;
    const tables = await pair.old.warehouse.rows(
      sql`SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name`,
      nameRow,
    );
    for (const { name } of tables) {
      const dumps = await Promise.all(
        [pair.old.warehouse, pair.current.warehouse].map(async (warehouse) => {
          // Summing/Replacing tables hold one row per key only once merged: both servers merge everything.
          await warehouse.exec(new Sql(`OPTIMIZE TABLE ${databaseIdent(name).text} FINAL`));
          return tableDump(warehouse, name);
        }),
      );
      cmp.same('table_rows', name, dumps[0], dumps[1]);
    }
    const spendLogs = await tableDump(pair.current.warehouse, 'spend_logs');
    assert.equal(spendLogs.length, records.length, 'every call stored once');
    cmp.assertNoneSince(since);
  });

  it('is the ClickHouse docker-compose runs (images pinned to the tested major.minor)', () => {
    const tested = pair.current.version.split('.').slice(0, 2).join('.');
    for (const file of ['docker-compose.yml', 'docker-compose.cluster.yml']) {
      const text = readFileSync(join(import.meta.dirname, '..', '..', file), 'utf8');
      const tags = [...text.matchAll(/image:\s*clickhouse\/clickhouse-(?:server|keeper):(\S+)/g)].map((m) => m[1]);
      assert.ok(tags.length > 0, `${file} names a ClickHouse image`);
      for (const tag of tags) assert.equal(tag, tested, `${file}: ClickHouse ${tag} is not the tested ${tested}`);
    }
  });

  it('reports what was compared', (t) => {
    t.diagnostic(`${pair.old.name} vs ${pair.current.name}: ${cmp.report()} in ${Date.now() - startedAt} ms`);
    t.diagnostic(`peak RSS of this process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
    assert.equal(cmp.differences.length, 0);
  });
});
