// docker-compose.yml cannot run here (no Docker engine), so this test keeps it honest by hand: the services
// exist, Redis persists with AOF, the app's env vars are ones it reads, URLs point at real services and
// ports, and the mounted config validates with the env the services get.
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
  build: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
});
const compose = z
  .object({ services: z.record(z.string(), serviceSchema) })
  .parse(parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }));

/** `${VAR:?msg}` / `${VAR:-default}` → a stand-in value, as compose would substitute from .env. */
function substitute(value: string): string {
  return value.replace(/\$\{(\w+)(:[-?][^}]*)?\}/g, (_m, name: string) => `from-env-${name.toLowerCase()}`);
}

const appServices = Object.entries(compose.services).filter(([, s]) => s.image === 'spendhouse:latest');

test('compose has the production services: proxy and worker roles, ClickHouse, Redis with AOF, MinIO', () => {
  assert.deepEqual(appServices.map(([name]) => name).sort(), ['spendhouse-proxy', 'spendhouse-worker']);
  const roles = appServices.map(([, s]) => s.command?.[s.command.indexOf('--role') + 1]).sort();
  assert.deepEqual(roles, ['proxy', 'worker']);
  assert.match(compose.services.clickhouse?.image ?? '', /^clickhouse\/clickhouse-server:\d+/);
  const redis = compose.services.redis?.command ?? [];
  assert.equal(redis[redis.indexOf('--appendonly') + 1], 'yes');
  assert.match(compose.services.minio?.image ?? '', /^minio\/minio/);
});

test('every env var given to Spendhouse is one it reads or one the mounted config references', () => {
  const configText = readFileSync(join(ROOT, 'config.docker.yaml'), 'utf8');
  const referenced = new Set([...configText.matchAll(/os\.environ\/(\w+)/g)].map((m) => m[1]));
  for (const [name, service] of appServices) {
    const env = service.environment ?? {};
    for (const key of Object.keys(env)) {
      const known = (SUPPORTED_ENV_VARS as readonly string[]).includes(key) || referenced.has(key);
      assert.ok(known, `${name}: ${key} is neither read by the app nor referenced by config.docker.yaml`);
    }
    for (const ref of referenced) assert.ok(ref && ref in env, `${name}: config.docker.yaml needs ${ref}`);
  }
});

test('URLs and ports in compose point at the services and ports that serve them', () => {
  for (const [name, service] of appServices) {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, substitute(v)]));
    const ch = new URL(env.CLICKHOUSE_URL ?? '');
    assert.equal(ch.hostname, 'clickhouse');
    assert.equal(ch.port, '8123', 'ClickHouse HTTP port inside the compose network');
    const redis = new URL(env.REDIS_URL ?? '');
    assert.equal(redis.hostname, 'redis');
    assert.ok(compose.services[redis.hostname], `${name}: REDIS_URL host is a service`);
    const mount = (service.volumes ?? []).find((v) => v.includes(':/app/config.yaml'));
    assert.ok(mount, `${name} mounts its config`);
    assert.equal(env.CONFIG_FILE_PATH, '/app/config.yaml');

    // The mounted config must validate with exactly the env this service gets.
    const config = loadConfig({ configPath: join(ROOT, mount.split(':')[0] ?? ''), env });
    assert.deepEqual(config.warnings, []);
    assert.equal(config.clickhouse.url, 'http://clickhouse:8123');
    assert.equal(String(config.port), env.PORT);
    const s3 = config.file.litellm_settings.s3_callback_params;
    assert.equal(new URL(s3?.s3_endpoint_url ?? '').hostname, 'minio');
  }
  const published = compose.services['spendhouse-proxy']?.ports?.[0] ?? '';
  assert.equal(published.split(':').at(-1), compose.services['spendhouse-proxy']?.environment?.PORT);
  assert.equal(
    compose.services.clickhouse?.environment?.CLICKHOUSE_DB,
    compose.services['spendhouse-proxy']?.environment?.CLICKHOUSE_DATABASE,
  );
});
