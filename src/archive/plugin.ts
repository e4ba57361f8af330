// Fastify plugin for the archive in the worker role: owns the store client, runs the scheduler, decorates
// `app.archive` (status, a pass on demand) and reports store failures under readiness. In role `all` a
// failing archive is shown in the readiness detail but does not take the proxy out of rotation.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Metric } from 'prom-client';
import type { AppConfig } from '../config/load.js';
import { type ArchiveContext, archiveContext } from './exporter.js';
import { createArchiveMetrics } from './metrics.js';
import { ArchiveScheduler } from './scheduler.js';
import { openStore } from './store.js';

export interface ArchiveService {
  context: ArchiveContext;
  scheduler: ArchiveScheduler;
}

declare module 'fastify' {
  interface FastifyInstance {
    archive: ArchiveService;
    /** Prometheus gauges of the archive, for the /metrics owner to register. */
    archiveMetrics: Metric[];
  }
}

async function archivePlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const store = openStore(config.archive.target);
  const context = archiveContext(app.warehouse, app.redis, config.archive, store);
  const scheduler = new ArchiveScheduler(context, (msg, data) => app.log.info(data ?? {}, msg));
  app.decorate('archive', { context, scheduler });
  app.decorate('archiveMetrics', createArchiveMetrics(scheduler.status));
  app.addReadinessCheck('archive', async () => {
    const { status } = scheduler;
    if (status.lastError === null) return { ok: true, detail: status.destination };
    return { ok: config.role === 'all', detail: `${status.destination}: ${status.lastError}` };
  });
  app.addHook('onReady', async () => {
    scheduler.start();
  });
  app.addHook('onClose', async () => {
    await scheduler.stop();
    store.close();
  });
}

export default fp(archivePlugin, { name: 'archive', dependencies: ['clickhouse', 'redis', 'health'] });
