// Fastify plugin owning the Redis connection used for hot state (key cache, budget counters, locks).
// The URL is one server, a Sentinel-watched primary or a Redis Cluster (./connection.ts); the db index is
// honoured; `redis.key_prefix` / REDIS_KEY_PREFIX namespaces every key so two deployments or test runs can
// share one server. BullMQ opens its own connections (see ingest/queue).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis, RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/load.js';
import { connectRedis, effectiveKeyPrefix } from './connection.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

/**
 * The app's client. On a Redis Cluster it is an ioredis Cluster behind the Redis type: the app only uses
 * the command interface both share (commands, eval, defineCommand, pipeline/multi within its one slot —
 * see effectiveKeyPrefix), and the cluster suite runs the budget and ingest checks through it.
 */
export function createRedis(config: AppConfig['redis'], extra: RedisOptions = {}): Redis {
  const keyPrefix = effectiveKeyPrefix(config.url, config.keyPrefix);
  return connectRedis(config.url, { keyPrefix, lazyConnect: false, enableAutoPipelining: true, ...extra });
}

async function redisPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const redis = createRedis(opts.config.redis, { maxRetriesPerRequest: 2 });
  // Without a listener ioredis prints every reconnect error; readiness reports the outage instead.
  redis.on('error', (err) => app.log.debug({ err: err.message }, 'redis connection error'));
  app.decorate('redis', redis);
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
}

export default fp(redisPlugin, { name: 'redis' });
