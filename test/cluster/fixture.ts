// Shared state of the cluster suite: run.ts starts the local cluster (and Redis / a single ClickHouse for
// comparisons), then imports the *.cluster.ts files into the same process, which reach the cluster here.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/app.js';
import { createWarehouse } from '../../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../../src/clickhouse/sql.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';
import type { AppConfig } from '../../src/config/load.js';
import type { Role } from '../../src/config/schema.js';
import type { LocalCluster } from '../../src/devservices/clusterServices.js';
import type { RedisTopology } from '../../src/devservices/redisTopologies.js';
import { parseRedisUrl } from '../../src/redis/connection.js';
import { dropTestState, testConfig, testEnv } from '../helpers/testApp.js';

export interface ClusterFixture {
  cluster: LocalCluster;
  /** One Redis server (the usual local service). */
  redisUrl: string;
  /** A primary + replica behind a Sentinel, and a 3-primary Redis Cluster. */
  redisTopologies: { sentinel: RedisTopology; cluster: RedisTopology };
  singleNodeUrl: string;
}

let current: ClusterFixture | null = null;

export function setClusterFixture(fixture: ClusterFixture): void {
  current = fixture;
}

export function clusterFixture(): ClusterFixture {
  if (!current) throw new Error('the cluster suite runs through `npm run test:cluster` (test/cluster/run.ts)');
  return current;
}

/** Every Redis shape the app supports, by name: each budget / ingest check runs against all of them. */
export function redisTargets(): [name: string, url: string][] {
  const { redisUrl, redisTopologies } = clusterFixture();
  return [
    ['one server', redisUrl],
    ['Sentinel', redisTopologies.sentinel.url],
    ['Cluster', redisTopologies.cluster.url],
  ];
}

/** A fresh database + Redis prefix on the cluster; the app talks to node 0 (see onNode). */
export function clusterConfig(
  fileConfig: Record<string, unknown> = {},
  redisUrl = clusterFixture().redisUrl,
): AppConfig {
  const { cluster } = clusterFixture();
  const env = testEnv({
    CLICKHOUSE_URL: cluster.nodes[0]?.url ?? '',
    CLICKHOUSE_CLUSTER: cluster.layout.name,
    CLICKHOUSE_DATABASE: `c_${randomBytes(5).toString('hex')}`,
    REDIS_URL: redisUrl,
  });
  return testConfig(fileConfig, env);
}

/** The same deployment (database, Redis prefix) seen through another node, in another role. */
export function onNode(config: AppConfig, nodeIndex: number, role: Role): AppConfig {
  const node = clusterFixture().cluster.nodes[nodeIndex];
  if (!node) throw new Error(`no cluster node ${nodeIndex}`);
  return { ...config, role, clickhouse: { ...config.clickhouse, url: node.url } };
}

/** Starts an app instance; workers run the ingest worker, proxies do not. */
export function startInstance(config: AppConfig): Promise<FastifyInstance> {
  return buildApp({ config, ingestWorker: config.role !== 'proxy' });
}

/** A warehouse bound to one node's database, for per-replica checks (`<table>_local`). */
export function nodeWarehouse(config: AppConfig, nodeIndex: number): Warehouse {
  return createWarehouse(onNode(config, nodeIndex, config.role).clickhouse);
}

export async function dropClusterState(config: AppConfig): Promise<void> {
  const admin = createWarehouse({ ...config.clickhouse, database: 'default' }, 'default');
  try {
    const cluster = databaseIdent(config.clickhouse.cluster ?? '');
    await admin.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(config.clickhouse.database)} ON CLUSTER ${cluster}`);
  } finally {
    await admin.client.close();
  }
  if (parseRedisUrl(config.redis.url).kind === 'cluster') {
    await dropClusterKeys(config.redis.keyPrefix);
    return;
  }
  // Redis keys (the database is gone already; dropping it again on one node is a no-op).
  await dropTestState(config);
}

/**
 * Calls `each` for every key of a deployment on the Redis Cluster, node by node: the app's keys are
 * `{<prefix>}…` and the queue's `{<prefix>bull}…` (src/redis/connection.ts).
 */
export async function forEachClusterKey(
  keyPrefix: string,
  each: (node: Redis, key: string) => Promise<void>,
): Promise<void> {
  for (const port of clusterFixture().redisTopologies.cluster.ports) {
    const node = new Redis(port, '127.0.0.1');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `{${keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) await each(node, key);
      } while (cursor !== '0');
    } finally {
      node.disconnect();
    }
  }
}

/** One DEL a key: the app's and the queue's keys are two slots. */
async function dropClusterKeys(keyPrefix: string): Promise<void> {
  await forEachClusterKey(keyPrefix, async (node, key) => {
    await node.del(key);
  });
}
