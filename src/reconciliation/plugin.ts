// Reconciliation with the providers' bills (docs/finops.md): GET /spend/reconciliation on HTTP-facing roles,
// and on worker roles the importer of the configured providers' cost reports, every interval_minutes.
// A Redis lock (held for most of the interval) makes one worker of N do each run.

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { periodicTask } from '../periodic.js';
import { asError } from '../retry.js';
import { reconciliationRoutes } from './routes.js';
import { ReconciliationImporter, SETTLED_AFTER_DAYS } from './service.js';
import { resolveReconciliationSettings } from './settings.js';

const LOCK_KEY = 'reconciliation:import:lock';

async function reconciliationPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const settings = resolveReconciliationSettings(config.file);
  if (config.role !== 'worker') await app.register(reconciliationRoutes, { settings, models: config.models });
  if (config.role === 'proxy' || settings.sources.length === 0) return;

  const log = app.log.child({ component: 'reconciliation' });
  if (app.alerts.enabled && settings.lookbackDays <= SETTLED_AFTER_DAYS)
    log.warn(
      { lookback_days: settings.lookbackDays },
      `reconciliation.lookback_days ≤ ${SETTLED_AFTER_DAYS}: no re-read day is settled, so no drift is alerted`,
    );
  const importer = new ReconciliationImporter({
    warehouse: app.warehouse,
    redis: app.redis,
    alerts: app.alerts,
    settings,
    models: config.models,
    log,
  });
  const run = async () => {
    const got = await app.redis.set(LOCK_KEY, '1', 'PX', Math.max(1000, settings.intervalMs - 30_000), 'NX');
    if (got === 'OK') await importer.runOnce();
  };
  periodicTask(app, run, {
    everyMs: settings.intervalMs,
    firstAfterMs: 5_000,
    onError: (err) => log.warn({ err: asError(err).message }, 'reconciliation import failed'),
  });
}

export default fp(reconciliationPlugin, { name: 'reconciliation', dependencies: ['alerts', 'redis'] });
