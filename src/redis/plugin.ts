// Fastify plugin owning the Redis connection used for hot state (key cache, budget counters, locks).
// The URL's db index is honoured by ioredis; `redis.key_prefix` / REDIS_KEY_PREFIX namespaces every key so
// two deployments or test runs can share one server. BullMQ opens its own connections (see ingest/queue).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/load.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

function redisOptions(config: AppConfig['redis'], extra: RedisOptions = {}): RedisOptions {
  return { keyPrefix: config.keyPrefix, lazyConnect: false, enableAutoPipelining: true, ...extra };
}

export function createRedis(config: AppConfig['redis'], extra: RedisOptions = {}): Redis {
  return new Redis(config.url, redisOptions(config, extra));
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
