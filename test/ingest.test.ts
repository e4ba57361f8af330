// The ingest pipeline end to end against real Redis + ClickHouse: producer → BullMQ → worker → spend_logs
// and rollups, exactly once; retried batches; poison records and replay; retention; reconciliation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { InsertCoalescer } from '../src/ingest/coalescer.js';
import { batchQueries } from '../src/ingest/dedup.js';
import { spendBatch } from '../src/ingest/producer.js';
import { reconcile } from '../src/ingest/reconcile.js';
import { applyRetention } from '../src/ingest/retention.js';
import { BatchEncoder, EncodedRows } from '../src/ingest/rows.js';
import { SpendWriter } from '../src/ingest/writer.js';
import { pollUntil } from '../src/retry.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { expectedCost, spendRecord, spendTotals, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';

const auth = { authorization: `Bearer ${TEST_MASTER_KEY}` };

describe('ingest pipeline', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  test('10k records through the producer land exactly once, rollups reconcile', async () => {
    const { app } = t;
    const from = new Date(Date.now() - 60_000);
    for (let i = 0; i < 10_000; i++) app.spendSink.submit(spendRecord('p10k', i));
    await app.spendSink.flush();
    const totals = await waitForRows(app.warehouse, 10_000, 'p10k-');
    assert.equal(totals.n, 10_000);
    assert.equal(totals.distinct_ids, 10_000);
    assert.equal(totals.cost, expectedCost(10_000));
    await waitForQueueIdle(app.spendProducer.queue);
    const check = await reconcile(app.warehouse, from, new Date(Date.now() + 60_000));
    assert.equal(check.ok, true, JSON.stringify(check.rollups.map((r) => r.mismatches.slice(0, 3))));
    assert.equal(check.rollups[0]?.raw.requests, check.rollups[0]?.rollup.requests);
  });

  test('a batch processed again (retry after a crash) is not counted twice', async () => {
    const { app } = t;
    const worker = app.spendWorker;
    assert.ok(worker);
    const encoded = BatchEncoder.of(Array.from({ length: 50 }, (_, i) => spendRecord('retry', i)));
    const job = { id: 'retry-batch', data: spendBatch(encoded, 'proxy', 'retry-batch') };
    await worker.process(job);
    await worker.process(job);
    // The same records under a new batch id from the ingest side: checked against ClickHouse too.
    await worker.process({ id: 'other', data: spendBatch(encoded, 'ingest', 'other') });
    const totals = await spendTotals(app.warehouse, 'retry-');
    assert.equal(totals.n, 50);
  });

  test('a record ClickHouse refuses goes to the dead-letter queue; replay after the fix lands it', async () => {
    const { app } = t;
    // A "schema" that refuses one model, like a constraint added by mistake; dropping it is the fix.
    await app.warehouse.exec(
      sql`ALTER TABLE spend_logs ADD COLUMN poison_check UInt8 MATERIALIZED throwIf(model = 'poison-model')`,
    );
    const records = Array.from({ length: 20 }, (_, i) =>
      spendRecord('poison', i, i === 7 ? { model: 'poison-model' } : {}),
    );
    // A record that breaks the contract outright (negative tokens) is dead-lettered at validation.
    const broken = { ...spendRecord('poison', 99), prompt_tokens: -1 };
    await app.spendProducer.enqueue([...records, broken as never], 'ingest', 'poison-batch');
    await waitForRows(app.warehouse, 19, 'poison-');
    await pollUntil(async () => (await app.deadLetters.count()) >= 2, { everyMs: 20, timeoutMs: 30_000 });

    const list = await app.inject({ method: 'GET', url: '/ingest/v1/dead-letters', headers: auth });
    assert.equal(list.statusCode, 200);
    const body = list.json() as { total: number; data: { stage: string; reason: string; request_id: string }[] };
    assert.equal(body.total, 2);
    const byId = new Map(body.data.map((d) => [d.request_id, d]));
    assert.equal(byId.get('poison-7')?.stage, 'clickhouse');
    assert.match(byId.get('poison-7')?.reason ?? '', /throwIf/);
    assert.equal(byId.get('poison-99')?.stage, 'validation');
    assert.match(byId.get('poison-99')?.reason ?? '', /prompt_tokens/);
    assert.equal((await spendTotals(app.warehouse, 'poison-')).n, 19);
    const forbidden = await app.inject({ method: 'GET', url: '/ingest/v1/dead-letters' });
    assert.equal(forbidden.statusCode, 401);

    await app.warehouse.exec(sql`ALTER TABLE spend_logs DROP COLUMN poison_check`);
    const replay = await app.inject({ method: 'POST', url: '/ingest/v1/dead-letters/replay', headers: auth });
    assert.deepEqual(replay.json(), { replayed: 1, still_invalid: 1 });
    const totals = await waitForRows(app.warehouse, 20, 'poison-');
    assert.equal(totals.n, 20);
    assert.equal(totals.distinct_ids, 20);
    assert.equal(await app.deadLetters.count(), 1);
  });

  test('a poison record in an insert shared by several batches only refuses itself', async () => {
    const { app } = t;
    await app.warehouse.exec(
      sql`ALTER TABLE spend_logs ADD COLUMN poison_check UInt8 MATERIALIZED throwIf(model = 'poison-model')`,
    );
    try {
      // One insert in flight at a time: the first batch goes alone, the next two share an insert.
      const coalescer = new InsertCoalescer(app.warehouse, app.redis, 50_000, 1);
      const hooks = { onOutage: () => {}, onRecovered: () => {}, isClosing: () => false };
      const writer = new SpendWriter(app.warehouse, coalescer, hooks, 1000);
      const batch = (name: string, poisonAt = -1) =>
        EncodedRows.fromText(
          BatchEncoder.of(
            Array.from({ length: 10 }, (_, i) => spendRecord(name, i, i === poisonAt ? { model: 'poison-model' } : {})),
          ).rows(),
        );
      const [first, second, third] = await Promise.all([
        writer.write('shared-1', batch('shared1')),
        writer.write('shared-2', batch('shared2')),
        writer.write('shared-3', batch('shared3', 4)),
      ]);
      assert.deepEqual([first.length, second.length], [0, 0]);
      assert.deepEqual(
        third.map((r) => (r.record as SpendRecord).request_id),
        ['shared3-4'],
      );
      for (const name of ['shared1-', 'shared2-']) assert.equal((await spendTotals(app.warehouse, name)).n, 10);
      assert.deepEqual(await spendTotals(app.warehouse, 'shared3-'), {
        n: 9,
        distinct_ids: 9,
        cost: 9 * 1000 + 45 - 4,
      });
    } finally {
      await app.warehouse.exec(sql`ALTER TABLE spend_logs DROP COLUMN poison_check`);
    }
  });

  test('inserts start at most once per interval: batches arriving meanwhile share the next insert', async () => {
    const { app } = t;
    const intervalMs = 400;
    const coalescer = new InsertCoalescer(app.warehouse, app.redis, 50_000, 2, intervalMs);
    const rows = (name: string, n: number) =>
      EncodedRows.fromText(BatchEncoder.of(Array.from({ length: n }, (_, i) => spendRecord(name, i))).rows());
    const started = Date.now();
    // The first insert starts at once; the next two arrive within its interval (however long it takes):
    // both wait for the interval to pass, then go together.
    await Promise.all([
      coalescer.insert('interval-a', rows('interval-a', 5)),
      coalescer.insert('interval-b', rows('interval-b', 5)),
      coalescer.insert('interval-c', rows('interval-c', 5)),
    ]);
    assert.ok(Date.now() - started >= intervalMs, 'the second insert waited for the interval');
    const [a, b, c] = await Promise.all(
      ['interval-a', 'interval-b', 'interval-c'].map((id) => batchQueries(app.redis, id)),
    );
    assert.equal(a?.length, 1);
    assert.deepEqual(b, c, 'b and c shared one insert');
    assert.notDeepEqual(a, b);
    // An efficient insert's worth of rows (10,000) does not wait for the interval.
    const slowIntervalMs = 5_000;
    const slow = new InsertCoalescer(app.warehouse, app.redis, 50_000, 2, slowIntervalMs);
    const dStarted = Date.now();
    const small = slow.insert('interval-d', rows('interval-d', 5));
    const big = slow.insert('interval-big', rows('interval-big', 10_000));
    // The moment it is sent its query is recorded: that moment comes before the interval would release it.
    await pollUntil(async () => (await batchQueries(app.redis, 'interval-big')).length === 1, { everyMs: 10 });
    assert.ok(Date.now() - dStarted < slowIntervalMs, 'sent within the interval');
    await Promise.all([small, big]);
    for (const [name, n] of [
      ['interval-a-', 5],
      ['interval-b-', 5],
      ['interval-c-', 5],
      ['interval-d-', 5],
      ['interval-big-', 10_000],
    ] as const) {
      assert.equal((await spendTotals(app.warehouse, name)).n, n);
    }
  });

  test('retention drops whole expired raw and payload partitions and keeps the rollups', async () => {
    const { app } = t;
    const old = new Date(Date.now() - 40 * 86_400_000);
    const day = old.toISOString().slice(0, 10);
    const records = Array.from({ length: 30 }, (_, i) =>
      spendRecord('old', i, { start_time: old.toISOString(), messages: '[{"role":"user","content":"hi"}]' }),
    );
    await app.spendProducer.enqueue(records, 'ingest', 'old-batch');
    await waitForRows(app.warehouse, 30, 'old-');
    const payloads = async () =>
      (
        await app.warehouse.rows(
          sql`SELECT count() AS n FROM spend_payloads WHERE substring(request_id, 1, 4) = 'old-'`,
          z.object({ n: z.coerce.number() }),
        )
      )[0]?.n;
    assert.equal(await payloads(), 30);
    // Payloads kept longer than raw here: only spend_logs loses the day.
    const rawOnly = await applyRetention(app.warehouse, { rawRetentionDays: 30, payloadRetentionDays: 60 });
    assert.deepEqual(rawOnly, [{ table: 'spend_logs', day }]);
    assert.equal((await spendTotals(app.warehouse, 'old-')).n, 0);
    assert.equal(await payloads(), 30);
    const both = await applyRetention(app.warehouse, { rawRetentionDays: 30, payloadRetentionDays: 30 });
    assert.deepEqual(both, [{ table: 'spend_payloads', day }]);
    assert.equal(await payloads(), 0);
    // Everything recent is untouched, and the old day is still in the rollups.
    assert.equal((await spendTotals(app.warehouse, 'p10k-')).n, 10_000);
    const check = await reconcile(app.warehouse, old, new Date(old.getTime() + 1));
    for (const rollup of check.rollups) {
      assert.equal(rollup.rollup.requests, '30', rollup.table);
      assert.equal(rollup.raw.requests, '0', rollup.table);
    }
  });

  test('status reports the queue and worker counters', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/ingest/v1/status', headers: auth });
    assert.equal(res.statusCode, 200);
    const status = res.json() as { worker: { records_inserted: number; clickhouse_outage: unknown } };
    assert.ok(status.worker.records_inserted >= 10_000);
    assert.equal(status.worker.clickhouse_outage, null);
    const registry = new Registry();
    for (const metric of t.app.ingestMetrics) registry.registerMetric(metric);
    const text = await registry.metrics();
    assert.match(text, /^spendhouse_ingest_clickhouse_outage 0$/m);
    assert.match(text, /^spendhouse_ingest_dead_letters 1$/m);
    assert.match(text, /^spendhouse_ingest_queue_jobs\{state="waiting"\} 0$/m);
  });

  test('a job of the previous format (records as objects) still lands; its bad record is a replayable dead letter', async () => {
    const { app } = t;
    const worker = app.spendWorker;
    assert.ok(worker);
    const records = Array.from({ length: 30 }, (_, i) => spendRecord('legacy', i));
    const broken = { ...spendRecord('legacy', 99), prompt_tokens: -1 };
    const before = (await app.deadLetters.list(0, 10_000)).length;
    const data = { batch_id: 'legacy-batch', origin: 'proxy', created_at: Date.now(), records: [...records, broken] };
    await worker.process({ id: 'legacy-batch', data });
    await worker.process({ id: 'legacy-batch', data }); // a retried job: counted once, dead-lettered once
    assert.deepEqual(await spendTotals(app.warehouse, 'legacy-'), {
      n: 30,
      distinct_ids: 30,
      cost: expectedCost(30),
    });
    const letters = await app.deadLetters.list(0, 10_000);
    assert.equal(letters.length, before + 1);
    assert.ok(letters.some((l) => (l.record as { request_id?: string }).request_id === 'legacy-99'));
  });
});
