// The Batch API's warehouse state (clickhouse/064_batch_jobs.sql, src/batches/store.ts) on ClickHouse 18.16
// (the test server) and on current ClickHouse (chdb): the same writes give the same answers — latest
// version per id, pending batches, paging newest first with `after` — and the migration renders for a cluster
// as a Replicated local table behind a Distributed one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BatchDoc, BatchStore, type FileDoc } from '../src/batches/store.js';
import { loadMigrations, migrate, renderMigration } from '../src/clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../src/clickhouse/sql.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';
import { createRedis } from '../src/redis/plugin.js';
import { type ChdbWarehouse, openChdbWarehouse } from './helpers/chdbWarehouse.js';
import { testConfig } from './helpers/testApp.js';

const config = testConfig();
const migration = loadMigrations().filter((m) => m.name === '064_batch_jobs');
let old: Warehouse;
let chdb: ChdbWarehouse;

before(async () => {
  await ensureDatabase(config.clickhouse);
  old = createWarehouse(config.clickhouse);
  chdb = await openChdbWarehouse(config.clickhouse.database);
  const redis = createRedis(config.redis);
  try {
    for (const warehouse of [old, chdb.warehouse])
      assert.deepEqual((await migrate(warehouse, redis, migration)).applied, ['064_batch_jobs']);
  } finally {
    redis.disconnect();
  }
});
after(async () => {
  await old.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(config.clickhouse.database)}`);
  await old.client.close();
  await chdb.close();
});

const file = (id: string, keyHash: string, createdAt: number): FileDoc => ({
  id,
  key_hash: keyHash,
  upstream_id: 'acct',
  model: 'gpt-4o-mini',
  endpoint: '/v1/chat/completions',
  lines: 2,
  worst_case_nano: 1234,
  file: { id, object: 'file', bytes: 10, created_at: createdAt, filename: "it's.jsonl", purpose: 'batch' },
});

const batch = (id: string, keyHash: string, createdAt: number, status: string): BatchDoc => ({
  id,
  upstream_id: 'acct',
  model: 'gpt-4o-mini',
  endpoint: '/v1/chat/completions',
  attribution: {
    key_hash: keyHash,
    key_alias: null,
    user_id: null,
    team_id: null,
    customer_id: null,
    tags: ['t'],
    metadata: {},
  },
  reservation_id: null,
  reserved_nano: 0,
  batch: { id, endpoint: '/v1/chat/completions', input_file_id: 'file-1', status, created_at: createdAt },
  settled: null,
});

async function scenario(warehouse: Warehouse) {
  const store = new BatchStore(warehouse);
  // Same created_at for two files: the id breaks the tie.
  for (const [id, at] of [
    ['file-a', 100],
    ['file-b', 200],
    ['file-c', 200],
    ['file-d', 300],
  ] as const) {
    await store.putFile(file(id, 'k1', at), 'active');
  }
  await store.putFile(file('file-x', 'k2', 250), 'active');
  await store.putFile(file('file-d', 'k1', 300), 'deleted');
  await store.putBatch(batch('batch_1', 'k1', 100, 'validating'), 'pending');
  await store.putBatch(batch('batch_2', 'k1', 200, 'in_progress'), 'pending');
  await store.putBatch(
    { ...batch('batch_1', 'k1', 100, 'completed'), settled: { records: 2, cost_nano: 9 } },
    'settled',
  );
  const ids = (page: { files: { id: string }[]; hasMore: boolean }) => [page.files.map((f) => f.id), page.hasMore];
  return {
    deleted: await store.getFile('file-d'),
    quote: (await store.getFile('file-a'))?.file.filename,
    page1: ids(await store.listFiles({ keyHash: 'k1', after: null, limit: 2 })),
    page2: ids(await store.listFiles({ keyHash: 'k1', after: 'file-b', limit: 2 })),
    all: ids(await store.listFiles({ keyHash: null, after: null, limit: 10 })),
    pending: (await store.pendingBatches(10)).map((b) => b.id),
    settled: (await store.getBatch('batch_1'))?.settled,
    batches: (await store.listBatches({ keyHash: 'k1', after: null, limit: 10 })).batches.map((b) => [b.id, b.status]),
  };
}

test('the batch store answers the same on ClickHouse 18.16 and current ClickHouse', async () => {
  const [onOld, onCurrent] = [await scenario(old), await scenario(chdb.warehouse)];
  assert.deepEqual(onOld, {
    deleted: null,
    quote: "it's.jsonl",
    page1: [['file-c', 'file-b'], true],
    page2: [['file-a'], false],
    all: [['file-x', 'file-c', 'file-b', 'file-a'], false],
    pending: ['batch_2'],
    settled: { records: 2, cost_nano: 9 },
    batches: [
      ['batch_2', 'in_progress'],
      ['batch_1', 'completed'],
    ],
  });
  assert.deepEqual(onCurrent, onOld, `${chdb.version} answers as 18.16`);
});

test('on a cluster: a Replicated local table and a Distributed table over it', () => {
  const [text] = migration.map((m) => m.text);
  const statements = renderMigration(text ?? '', 'spend', 'db');
  assert.equal(statements.length, 2);
  assert.match(statements[0] ?? '', /CREATE TABLE IF NOT EXISTS `db`\.batch_jobs_local ON CLUSTER `spend`/);
  assert.match(
    statements[0] ?? '',
    /ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/db\/batch_jobs_local', '\{replica\}', version\)/,
  );
  assert.match(statements[1] ?? '', /ENGINE = Distributed\(`spend`, `db`, batch_jobs_local, cityHash64\(kind, id\)\)/);
});
