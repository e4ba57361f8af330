// `npm run test:cluster`: starts ZooKeeper + a 2-shard × 2-replica ClickHouse 18.16 on loopback (fresh data
// directory), a Redis Sentinel setup and a 3-primary Redis Cluster, Redis and a single ClickHouse (the usual
// local services, for single-node comparisons), then runs every test/cluster/*.cluster.ts in this process so
// tests can stop and start cluster nodes.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { type LocalCluster, startLocalCluster } from '../../src/devservices/clusterServices.js';
import { ensureLocalServices } from '../../src/devservices/localServices.js';
import { type RedisTopology, startRedisCluster, startRedisSentinel } from '../../src/devservices/redisTopologies.js';
import { setClusterFixture } from './fixture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dataRoot = mkdtempSync(join(tmpdir(), 'spendhouse-cluster-'));
const services = await ensureLocalServices(ROOT, {
  CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
  REDIS_URL: process.env.REDIS_URL,
});
const basePort = Number(process.env.CLUSTER_BASE_PORT ?? 29300);
const started = await Promise.allSettled([
  startLocalCluster(dataRoot, { name: 'spendhouse', shards: 2, replicas: 2, basePort }),
  startRedisSentinel(dataRoot, basePort + 100),
  startRedisCluster(dataRoot, basePort + 110),
] as const);
if (started.some((s) => s.status === 'rejected')) {
  for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
  throw started.find((s) => s.status === 'rejected')?.reason;
}
const [cluster, sentinel, redisCluster] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
  LocalCluster,
  RedisTopology,
  RedisTopology,
];
// If this process dies without its hooks, do not leave servers behind.
process.on('exit', () => {
  cluster.kill();
  sentinel.kill();
  redisCluster.kill();
});
setClusterFixture({
  cluster,
  redisUrl: services.redisUrl,
  redisTopologies: { sentinel, cluster: redisCluster },
  singleNodeUrl: services.clickhouseUrl,
});
after(async () => {
  await Promise.all([cluster.stop(), sentinel.stop(), redisCluster.stop()]);
  await services.stop();
  if (!process.env.KEEP_CLUSTER_DATA) rmSync(dataRoot, { recursive: true, force: true });
});

const only = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.cluster.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const file of files) await import(join(import.meta.dirname, file));
