// Spend on the cluster: migrations make Replicated local tables and Distributed tables on every node; calls
// through two proxy instances and records through two worker instances land exactly once while a replica is
// stopped and started again mid-ingest (it catches up by replication); query answers equal a single server's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ident, sql } from '../../src/clickhouse/sql.js';
import type { AppConfig } from '../../src/config/load.js';
import { reconcile } from '../../src/ingest/reconcile.js';
import { applyRetention } from '../../src/ingest/retention.js';
import { expectedCost, spendRecord, spendTotals, waitForQueueIdle, waitForRows } from '../helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig, testEnv } from '../helpers/testApp.js';
import { clusterConfig, clusterFixture, dropClusterState, nodeWarehouse, onNode, startInstance } from './fixture.js';

const MODELS = {
  model_list: [
    {
      model_name: 'cluster-mock',
      litellm_params: { model: 'mock/house-model' },
      model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
    },
  ],
};
const CALLS = 400;
const RECORDS = Number(process.env.CLUSTER_RECORDS ?? 20_000);
/** Worker records live in three past days, apart from the proxied calls (now). */
const BASE_MS = Date.UTC(2026, 9, 5);
const DAY_S = 24 * 3600;
const pastRecord = (i: number) =>
  spendRecord('w', i, { start_time: new Date(BASE_MS + ((i * 7919) % (3 * DAY_S)) * 1000).toISOString() });

const countRow = z.object({ n: z.coerce.number(), cost: z.coerce.number() });
const LOCAL_TABLES = ['spend_logs_local', 'spend_hourly_local', 'spend_daily_local'] as const;
async function localTotals(
  config: AppConfig,
  nodeIndex: number,
  table: (typeof LOCAL_TABLES)[number] = 'spend_logs_local',
) {
  const w = nodeWarehouse(config, nodeIndex);
  try {
    const rows = await w.rows(
      sql`SELECT count() AS n, sum(cost_nano) AS cost FROM ${ident(table, LOCAL_TABLES)}`,
      countRow,
    );
    return rows[0] ?? { n: 0, cost: 0 };
  } finally {
    await w.client.close();
  }
}

describe('spend on a 2-shard × 2-replica cluster', () => {
  let config: AppConfig;
  const proxies: FastifyInstance[] = [];
  const workers: FastifyInstance[] = [];

  before(async () => {
    config = clusterConfig(MODELS);
    // Proxies on shard 1 / shard 2's first replicas, workers likewise: every instance has its own entry node.
    proxies.push(await startInstance(onNode(config, 0, 'proxy')));
    proxies.push(await startInstance(onNode(config, 2, 'proxy')));
    workers.push(await startInstance(onNode(config, 0, 'worker')));
    workers.push(await startInstance(onNode(config, 2, 'worker')));
  });
  after(async () => {
    for (const app of [...proxies, ...workers]) await app.close();
    await dropClusterState(config);
  });

  test('migrations made Replicated local tables and Distributed tables on every node', async () => {
    const tableRow = z.object({ name: z.string(), engine: z.string() });
    for (let i = 0; i < clusterFixture().cluster.nodes.length; i++) {
      const w = nodeWarehouse(config, i);
      const tables = await w.rows(
        sql`SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('spend_logs', 'spend_logs_local', 'spend_hourly_local', 'spend_hourly_mv')`,
        tableRow,
      );
      await w.client.close();
      assert.deepEqual(
        Object.fromEntries(tables.map((t) => [t.name, t.engine])),
        {
          spend_logs: 'Distributed',
          spend_logs_local: 'ReplicatedMergeTree',
          spend_hourly_local: 'ReplicatedSummingMergeTree',
          spend_hourly_mv: 'MaterializedView',
        },
        `node ${i + 1}`,
      );
    }
  });

  test(`${CALLS} calls through two proxies land once, spread over both shards`, async () => {
    const from = new Date(Date.now() - 60_000);
    let costNano = 0n;
    const ids = new Set<string>();
    for (let i = 0; i < CALLS; i += 40) {
      const batch = Array.from({ length: 40 }, (_, k) =>
        (proxies[(i + k) % 2] as FastifyInstance).inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'x-litellm-tags': `run-${(i + k) % 3}` },
          payload: { model: 'cluster-mock', messages: [{ role: 'user', content: `call ${i + k}` }] },
        }),
      );
      for (const res of await Promise.all(batch)) {
        assert.equal(res.statusCode, 200, res.body);
        ids.add(String(res.headers['x-spend-request-id']));
        costNano += BigInt(Math.round(Number(res.headers['x-spend-response-cost']) * 1e9));
      }
    }
    const proxy = proxies[0] as FastifyInstance;
    const totals = await waitForRows(proxy.warehouse, CALLS, '', 120_000);
    for (const p of proxies) await waitForQueueIdle(p.spendProducer.queue);
    assert.equal(totals.n, CALLS);
    assert.equal(totals.distinct_ids, CALLS);
    assert.equal(BigInt(totals.cost), costNano);
    const shard1 = await localTotals(config, 0);
    const shard2 = await localTotals(config, 2);
    assert.equal(shard1.n + shard2.n, CALLS);
    assert.ok(shard1.n > 0 && shard2.n > 0, `both shards hold calls (${shard1.n} / ${shard2.n})`);
    const check = await reconcile(proxy.warehouse, from, new Date(Date.now() + 60_000));
    assert.equal(check.ok, true, JSON.stringify(check));
  });

  test(`${RECORDS} records through two workers exactly once while a replica is stopped and restarted`, async () => {
    const { cluster } = clusterFixture();
    // Shard 1's first replica: the one every node reads and writes shard 1 through (in_order), and the entry
    // node of proxy 1 and worker 1. While it is down, worker 1 waits out its outage, worker 2 carries on and
    // shard 1 is served by its second replica; back up, it catches up by replication.
    const replica = cluster.nodes[0];
    assert.ok(replica);
    const producer = proxies[0] as FastifyInstance;
    const reader = (proxies[1] as FastifyInstance).warehouse;
    const half = Math.floor(RECORDS / 2);
    for (let i = 0; i < half; i++) producer.spendSink.submit(pastRecord(i));
    await producer.spendSink.flush();
    await waitForRows(reader, Math.floor(half / 4), 'w-', 120_000);
    await replica.stop();
    for (let i = half; i < RECORDS; i++) producer.spendSink.submit(pastRecord(i));
    await producer.spendSink.flush();
    await waitForRows(reader, half + Math.floor(half / 4), 'w-', 120_000);
    await replica.start();

    const totals = await waitForRows(reader, RECORDS, 'w-', 300_000);
    await waitForQueueIdle(producer.spendProducer.queue, 120_000);
    assert.equal(totals.n, RECORDS);
    assert.equal(totals.distinct_ids, RECORDS);
    assert.equal(totals.cost, expectedCost(RECORDS));
    // The restarted replica catches up by replication: its local rows and rollups equal its peer's.
    // Both sides are read again each round: the peer may itself still be fetching parts the restarted replica
    // took just before it stopped (comparing with a value read once flaked under load).
    for (const table of LOCAL_TABLES) {
      const deadline = Date.now() + 120_000;
      let [caughtUp, peer] = [await localTotals(config, 0, table), await localTotals(config, 1, table)];
      while (caughtUp.cost !== peer.cost && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        [caughtUp, peer] = [await localTotals(config, 0, table), await localTotals(config, 1, table)];
      }
      assert.equal(caughtUp.cost, peer.cost, `${table} on the restarted replica`);
    }
    const settled = await spendTotals(reader, 'w-');
    assert.deepEqual(settled, totals, 'nothing changed once the replica was back');
  });

  test('query answers equal a single server holding the same records', async () => {
    let single: TestApp | null = null;
    try {
      single = await startTestApp(testConfig(MODELS, testEnv({ CLICKHOUSE_URL: clusterFixture().singleNodeUrl })), {
        ingestWorker: true,
      });
      for (let i = 0; i < RECORDS; i++) single.app.spendSink.submit(pastRecord(i));
      await single.app.spendSink.flush();
      await waitForRows(single.app.warehouse, RECORDS, 'w-', 300_000);
      await waitForQueueIdle(single.app.spendProducer.queue, 120_000);
      const window = { from: new Date(BASE_MS).toISOString(), to: new Date(BASE_MS + 3 * DAY_S * 1000).toISOString() };
      const questions: Record<string, unknown>[] = [
        { group_by: ['team'] },
        { group_by: ['model', 'tag'] },
        { group_by: ['team'], tags: { all: ['prod'] } },
        { group_by: ['key', 'user'], granularity: 'day' },
        { group_by: ['customer', 'status'], granularity: 'hour' },
        { group_by: ['team', 'model'], source: 'raw' },
        // Raw with a tag filter: tag-set hashes (the shards' stored column, through the Distributed ALIAS).
        { group_by: ['team'], tags: { all: ['prod'] }, source: 'raw' },
      ];
      for (const question of questions) {
        const ask = async (
          app: FastifyInstance,
        ): Promise<{ source_table: string; tag_sets_matched: unknown; totals: unknown; rows: string[] }> => {
          const res = await app.inject({
            method: 'POST',
            url: '/spend/query',
            headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
            payload: { ...window, ...question, limit: 10_000 },
          });
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json() as {
            source_table: string;
            tag_sets_matched: unknown;
            totals: unknown;
            rows: unknown[];
          };
          // Row order among equal sort keys is not part of the contract: compare as sets.
          const rows = body.rows.map((r) => JSON.stringify(r)).sort();
          return {
            source_table: body.source_table,
            tag_sets_matched: body.tag_sets_matched,
            totals: body.totals,
            rows,
          };
        };
        const onCluster = await ask(proxies[1] as FastifyInstance);
        const onOne = await ask(single.app);
        assert.deepEqual(onCluster, onOne, JSON.stringify(question));
        if (question.source === 'raw' && question.tags) assert.equal(typeof onCluster.tag_sets_matched, 'number');
      }
    } finally {
      await single?.close();
    }
  });
  test('retention drops old raw partitions on every shard and replica; rollups and newer calls stay', async () => {
    const reader = (proxies[1] as FastifyInstance).warehouse;
    const dropped = await applyRetention(
      reader,
      { rawRetentionDays: 30, payloadRetentionDays: null },
      new Date(BASE_MS + 40 * DAY_S * 1000),
    );
    assert.ok(dropped.length >= 3, JSON.stringify(dropped));
    assert.equal((await spendTotals(reader, 'w-')).n, 0);
    for (let i = 0; i < clusterFixture().cluster.nodes.length; i++) {
      const local = await localTotals(config, i);
      const daily = await localTotals(config, i, 'spend_daily_local');
      assert.ok(local.n <= CALLS, `node ${i + 1} keeps only the recent calls (${local.n})`);
      assert.ok(daily.cost > 0, `node ${i + 1} keeps its rollups`);
    }
    assert.equal((await spendTotals(reader, '')).n, CALLS);
    const rollup = await reader.rows(
      sql`SELECT sum(cost_nano) AS cost, sum(requests) AS requests FROM spend_daily WHERE day < toDate(${new Date(BASE_MS + 3 * DAY_S * 1000).toISOString().slice(0, 10)})`,
      z.object({ cost: z.coerce.number(), requests: z.coerce.number() }),
    );
    assert.deepEqual(rollup[0], { cost: expectedCost(RECORDS), requests: RECORDS });
  });
});
