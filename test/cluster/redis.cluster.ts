// Ingest exactly once on the ClickHouse cluster with Redis as a Sentinel-watched primary and as a Redis
// Cluster: records through the producer and the ingest API (claims: a pipeline of SET NX) reach two
// workers (each on its own ClickHouse node) and land exactly once; on the Redis Cluster every app key sits
// in one hash slot and every queue key in another (src/redis/connection.ts); under Sentinel a failover
// between two halves of the records is followed by every client (app and BullMQ) and nothing is lost.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../src/config/load.js';
import { SENTINEL_MASTER_NAME } from '../../src/devservices/redisTopologies.js';
import { expectedCost, spendRecord, spendTotals, waitForQueueIdle, waitForRows } from '../helpers/ingestRecords.js';
import { TEST_MASTER_KEY } from '../helpers/testApp.js';
import {
  clusterConfig,
  clusterFixture,
  dropClusterState,
  forEachClusterKey,
  onNode,
  startInstance,
} from './fixture.js';

const RECORDS = Math.floor(Number(process.env.CLUSTER_RECORDS ?? 20_000) / 4);

interface Deployment {
  config: AppConfig;
  producer: FastifyInstance;
  workers: FastifyInstance[];
}

async function deploy(redisUrl: string): Promise<Deployment> {
  const config = clusterConfig({}, redisUrl);
  const producer = await startInstance(onNode(config, 0, 'proxy'));
  const workers = [await startInstance(onNode(config, 1, 'worker')), await startInstance(onNode(config, 3, 'worker'))];
  return { config, producer, workers };
}

async function undeploy(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  for (const app of [d.producer, ...d.workers]) await app.close();
  await dropClusterState(d.config);
}

/** Records [from, to) half through the producer, half through the ingest API (each API batch sent twice). */
async function send(producer: FastifyInstance, from: number, to: number): Promise<void> {
  const mid = Math.floor((from + to) / 2);
  for (let i = from; i < mid; i++) producer.spendSink.submit(spendRecord('r', i));
  await producer.spendSink.flush();
  for (let i = mid; i < to; i += 1000) {
    const records = Array.from({ length: Math.min(1000, to - i) }, (_, k) =>
      spendRecord('r', i + k, { source: 'ingest' }),
    );
    const post = () =>
      producer.inject({
        method: 'POST',
        url: '/ingest/v1/records',
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
        payload: JSON.stringify(records),
      });
    const first = await post();
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().accepted, records.length);
    assert.equal((await post()).json().duplicate, records.length, 'a repeated batch is claimed already');
  }
}

async function landedExactlyOnce(d: Deployment, n: number): Promise<void> {
  const totals = await waitForRows(d.producer.warehouse, n, 'r-', 300_000);
  await waitForQueueIdle(d.producer.spendProducer.queue, 120_000);
  assert.deepEqual(await spendTotals(d.producer.warehouse, 'r-'), totals);
  assert.deepEqual(totals, { n, distinct_ids: n, cost: expectedCost(n) });
}

describe('ingest exactly once with Redis Cluster', () => {
  let d: Deployment | undefined;
  before(async () => {
    d = await deploy(clusterFixture().redisTopologies.cluster.url);
  });
  after(() => undeploy(d));

  test(`${RECORDS} records through two workers land exactly once`, async () => {
    assert.ok(d);
    await send(d.producer, 0, RECORDS);
    await landedExactlyOnce(d, RECORDS);
  });

  test('the app’s keys share one hash slot, the queue’s another', async () => {
    assert.ok(d);
    const prefix = d.config.redis.keyPrefix;
    const slots = { app: new Map<number, number>(), queue: new Map<number, number>() };
    await forEachClusterKey(prefix, async (node, key) => {
      const slot = Number(await node.cluster('KEYSLOT', key));
      const bucket = key.startsWith(`{${prefix}bull}`) ? slots.queue : slots.app;
      bucket.set(slot, (bucket.get(slot) ?? 0) + 1);
    });
    assert.equal(slots.app.size, 1, `app keys by slot: ${JSON.stringify([...slots.app])}`);
    assert.equal(slots.queue.size, 1, `queue keys by slot: ${JSON.stringify([...slots.queue])}`);
    // Claims (one key per ingested id) and batch markers are there: the scan saw the real working set.
    const appKeys = [...slots.app.values()][0] ?? 0;
    assert.ok(appKeys >= RECORDS / 2, `${appKeys} app keys`);
  });
});

describe('ingest exactly once with Redis Sentinel, across a failover', () => {
  let d: Deployment | undefined;
  before(async () => {
    d = await deploy(clusterFixture().redisTopologies.sentinel.url);
  });
  after(() => undeploy(d));

  test(`${RECORDS} records through two workers land exactly once; a failover in between loses nothing`, async () => {
    assert.ok(d);
    const [primary, replica, sentinel] = clusterFixture().redisTopologies.sentinel.ports as [number, number, number];
    const sentinelCli = (...args: string[]) =>
      execFileSync('redis-cli', ['-p', String(sentinel), 'sentinel', ...args], { encoding: 'utf8' });
    const half = Math.floor(RECORDS / 2);
    await send(d.producer, 0, half);
    await landedExactlyOnce(d, half);

    // Idle, the replica is in sync. Sentinel promotes it, then turns the old primary into its replica; the
    // clients still on the old primary move on its first READONLY (src/redis/connection.ts). Writes made
    // between the two steps would be lost with the old primary's data: see docs/scaling.md.
    sentinelCli('failover', SENTINEL_MASTER_NAME);
    const deadline = Date.now() + 60_000;
    const role = () => execFileSync('redis-cli', ['-p', String(primary), 'role'], { encoding: 'utf8' });
    while (
      !sentinelCli('get-master-addr-by-name', SENTINEL_MASTER_NAME).includes(String(replica)) ||
      !role().startsWith('slave')
    ) {
      assert.ok(Date.now() < deadline, `no failover: the old primary says ${role()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await send(d.producer, half, RECORDS);
    await landedExactlyOnce(d, RECORDS);
  });
});
