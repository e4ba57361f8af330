// docker-compose.cluster.yml cannot run here (no Docker engine): this keeps it honest by hand, like
// test/compose.test.ts does for the single-server file. 2 proxies + 2 workers on the cluster, ClickHouse
// nodes whose macros cover 2 shards × 2 replicas and match deploy/cluster/clickhouse-cluster.xml, Keeper,
// Redis, MinIO; every env var given to Spendhouse is one it reads, and the config validates with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig, SUPPORTED_ENV_VARS } from '../src/config/load.js';

const ROOT = join(import.meta.dirname, '..');
const serviceSchema = z.object({
  image: z.string().optional(),
  hostname: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  volumes: z.array(z.string()).optional(),
});
const compose = z
  .object({ services: z.record(z.string(), serviceSchema) })
  .parse(parse(readFileSync(join(ROOT, 'docker-compose.cluster.yml'), 'utf8'), { merge: true }));
const clusterXml = readFileSync(join(ROOT, 'deploy/cluster/clickhouse-cluster.xml'), 'utf8');

const substitute = (value: string) => value.replace(/\$\{(\w+)(:[-?][^}]*)?\}/g, (_m, n: string) => `env-${n}`);
const services = Object.entries(compose.services);
const appServices = services.filter(([, s]) => s.image === 'spendhouse:latest');
const clickhouseNodes = services.filter(([, s]) => s.image?.startsWith('clickhouse/clickhouse-server:'));

test('two proxies, two workers, Keeper, Redis with AOF and MinIO', () => {
  const roles = appServices.map(([, s]) => s.command?.[s.command.indexOf('--role') + 1]).sort();
  assert.deepEqual(roles, ['proxy', 'proxy', 'worker', 'worker']);
  assert.match(compose.services.keeper?.image ?? '', /^clickhouse\/clickhouse-keeper:/);
  assert.ok(compose.services.redis?.command?.includes('--appendonly'));
  assert.match(compose.services.minio?.image ?? '', /^minio\/minio/);
});

test('ClickHouse nodes are 2 shards × 2 replicas and match remote_servers in the mounted cluster config', () => {
  const cluster = /<remote_servers>\s*<(\w+)>/.exec(clusterXml)?.[1];
  assert.ok(cluster);
  const shards = [...clusterXml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
    [...(m[1] ?? '').matchAll(/<host>([\w-]+)<\/host>/g)].map((h) => h[1]),
  );
  assert.equal(shards.length, 2);
  assert.ok(shards.every((replicas) => replicas.length === 2));
  assert.match(clusterXml, /<internal_replication>true<\/internal_replication>/);
  assert.match(clusterXml, /<shard from_env="CLICKHOUSE_SHARD"\/>/);
  assert.match(clusterXml, /<host>keeper<\/host><port>9181<\/port>/);
  assert.equal(clickhouseNodes.length, 4);
  for (const [name, node] of clickhouseNodes) {
    assert.equal(node.hostname, name);
    const shard = Number(node.environment?.CLICKHOUSE_SHARD);
    assert.ok(shards[shard - 1]?.includes(name), `${name} is listed under shard ${shard}`);
    assert.equal(node.environment?.CLICKHOUSE_REPLICA, name);
    assert.ok(
      node.volumes?.some((v) =>
        v.startsWith('./deploy/cluster/clickhouse-cluster.xml:/etc/clickhouse-server/config.d/'),
      ),
    );
  }
  for (const [name, app] of appServices) assert.equal(app.environment?.CLICKHOUSE_CLUSTER, cluster, name);
});

test('every app service reads only known env vars, enters the cluster through a node and validates', () => {
  const entryNodes = new Set<string>();
  for (const [name, service] of appServices) {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, substitute(v)]));
    for (const key of Object.keys(env)) {
      const known =
        (SUPPORTED_ENV_VARS as readonly string[]).includes(key) || /^(OPENAI|ANTHROPIC)_API_KEY$|^S3_/.test(key);
      assert.ok(known, `${name}: ${key} is not read by the app`);
    }
    const mount = (service.volumes ?? []).find((v) => v.endsWith(':/app/config.yaml:ro'));
    assert.ok(mount, `${name} mounts its config`);
    const config = loadConfig({ configPath: join(ROOT, mount.split(':')[0] ?? ''), env });
    const url = new URL(config.clickhouse.url);
    assert.ok(compose.services[url.hostname]?.image?.startsWith('clickhouse/'), `${name}: ${url.hostname} is a node`);
    assert.equal(url.port, '8123');
    entryNodes.add(url.hostname);
    assert.equal(config.clickhouse.cluster, 'spendhouse');
    assert.equal(new URL(config.redis.url).hostname, 'redis');
  }
  assert.equal(entryNodes.size, 4, 'each instance enters through its own node');
});
