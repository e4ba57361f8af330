// `npm start` and `npm test` need ClickHouse and Redis. Use the configured URLs when they answer; otherwise
// reuse a local server a previous run left on our ports, or start one under .data/ and stop it on exit.
import { join } from 'node:path';
import { redactUrl } from '../http/logRedaction.js';
import { LOCAL_CLICKHOUSE_HTTP_PORT, pingClickhouse, startLocalClickhouse } from './clickhouseServer.js';
import type { ManagedProcess } from './process.js';
import { LOCAL_REDIS_PORT, pingRedis, startLocalRedis } from './redisServer.js';

export interface LocalServices {
  clickhouseUrl: string;
  redisUrl: string;
  started: string[];
  stop(): Promise<void>;
}

interface Resolved {
  url: string;
  proc?: ManagedProcess;
}

async function resolveService(
  name: string,
  configured: string | undefined,
  localUrl: string,
  ping: (url: string) => Promise<boolean>,
  start: () => Promise<ManagedProcess & { url: string }>,
): Promise<Resolved> {
  if (configured) {
    if (await ping(configured)) return { url: configured };
    console.error(`[spendhouse] ${name} at ${redactUrl(configured)} does not answer: starting a local one.`);
  }
  if (await ping(localUrl)) return { url: localUrl };
  const proc = await start();
  return { url: proc.url, proc };
}

export async function ensureLocalServices(
  rootDir: string,
  env: { CLICKHOUSE_URL?: string; REDIS_URL?: string },
): Promise<LocalServices> {
  const dataRoot = join(rootDir, '.data');
  const [ch, redis] = await Promise.all([
    resolveService(
      'ClickHouse',
      env.CLICKHOUSE_URL,
      `http://127.0.0.1:${LOCAL_CLICKHOUSE_HTTP_PORT}`,
      pingClickhouse,
      () => startLocalClickhouse(dataRoot),
    ),
    resolveService('Redis', env.REDIS_URL, `redis://127.0.0.1:${LOCAL_REDIS_PORT}`, pingRedis, () =>
      startLocalRedis(dataRoot),
    ),
  ]);
  const started = [ch.proc ? 'clickhouse-server' : '', redis.proc ? 'redis-server' : ''].filter(Boolean);
  return {
    clickhouseUrl: ch.url,
    redisUrl: redis.url,
    started,
    async stop() {
      await Promise.all([ch.proc?.stop(), redis.proc?.stop()]);
    },
  };
}
