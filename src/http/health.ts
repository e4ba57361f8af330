// Liveness (the process answers) and readiness (every dependency answers, migrations applied). Plugins
// add their own readiness checks (the ingest worker reports a ClickHouse outage here, for instance).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { migrationsUpToDate } from '../clickhouse/migrate.js';
import { asError } from '../retry.js';

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

declare module 'fastify' {
  interface FastifyInstance {
    addReadinessCheck(name: string, check: ReadinessCheck): void;
  }
}

const CHECK_TIMEOUT_MS = 3000;

async function runCheck(check: ReadinessCheck): Promise<{ ok: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([check(), timeout]);
  } catch (err) {
    return { ok: false, detail: asError(err).message };
  } finally {
    clearTimeout(timer);
  }
}

async function healthRoutes(app: FastifyInstance, opts: { role: string }): Promise<void> {
  const checks = new Map<string, ReadinessCheck>();
  app.decorate('addReadinessCheck', (name: string, check: ReadinessCheck) => {
    checks.set(name, check);
  });
  checks.set('clickhouse', async () => ({ ok: await app.warehouse.ping() }));
  checks.set('redis', async () => ({ ok: (await app.redis.ping()) === 'PONG' }));
  checks.set('migrations', async () => {
    const ok = await migrationsUpToDate(app.warehouse);
    return ok ? { ok } : { ok, detail: 'pending migrations: run `npm run migrate`' };
  });

  const liveliness = async () => ({ status: 'ok', role: opts.role });
  app.get('/health/liveliness', liveliness);
  app.get('/health/liveness', liveliness);
  app.get('/health/readiness', async (_request, reply) => {
    const names = [...checks.keys()];
    const results = await Promise.all(names.map((n) => runCheck(checks.get(n) as ReadinessCheck)));
    const dependencies = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const failed = names.filter((_n, i) => !results[i]?.ok);
    reply.status(failed.length ? 503 : 200);
    return { status: failed.length ? 'unavailable' : 'ok', role: opts.role, failed, dependencies };
  });
}

export default fp(healthRoutes, { name: 'health', dependencies: ['clickhouse', 'redis'] });
