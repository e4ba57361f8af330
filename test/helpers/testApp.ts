// Builds a real app for a test: its own ClickHouse database and Redis key prefix on the servers `npm test`
// started (CLICKHOUSE_URL / REDIS_URL), dropped again on close.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../../src/app.js';
import { createWarehouse } from '../../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../../src/clickhouse/sql.js';
import { type AppConfig, type Env, resolveConfig, validateFileConfig } from '../../src/config/load.js';
import { createRedis } from '../../src/redis/plugin.js';

export const TEST_MASTER_KEY = 'sk-test-master-key-0123456789';

/** A GET with the master key: its status and its JSON body. */
export async function adminGet(app: FastifyInstance, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

export function testEnv(extra: Env = {}): Env {
  return {
    CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
    CLICKHOUSE_DATABASE: `t_${randomBytes(5).toString('hex')}`,
    MASTER_KEY: TEST_MASTER_KEY,
    ...extra,
  };
}

/** A config for tests: `fileConfig` is the YAML document as an object; each call gets a fresh db + prefix. */
export function testConfig(fileConfig: Record<string, unknown> = {}, env: Env = testEnv()): AppConfig {
  const { config: file, warnings } = validateFileConfig(fileConfig, env, 'test');
  const config = resolveConfig(file, warnings, { configPath: null, env });
  return {
    ...config,
    redis: { ...config.redis, keyPrefix: `test:${env.CLICKHOUSE_DATABASE}:` },
    // The archive scheduler would write into the repo's .data/archive from every test app; tests that
    // exercise it say `archive: { enabled: true }`.
    archive: { ...config.archive, enabled: file.archive.enabled ?? false },
  };
}

export interface TestApp {
  app: FastifyInstance;
  config: AppConfig;
  close(): Promise<void>;
}

/** Drops the test's database and Redis keys. */
export async function dropTestState(config: AppConfig): Promise<void> {
  const admin = createWarehouse(config.clickhouse, 'default');
  try {
    await admin.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(config.clickhouse.database)}`);
  } finally {
    await admin.client.close();
  }
  const redis = createRedis({ ...config.redis, keyPrefix: '' });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function startTestApp(
  config: AppConfig = testConfig(),
  options: Omit<AppOptions, 'config'> = {},
): Promise<TestApp> {
  const app = await buildApp({ config, ...options });
  return {
    app,
    config,
    async close() {
      await app.close();
      await dropTestState(config);
    },
  };
}
