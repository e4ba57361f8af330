// Spend anomalies (docs/finops.md): GET /spend/anomalies on HTTP-facing roles; on worker roles, every
// 15 minutes, the last 6 complete hours and 2 complete days are judged and each anomaly is sent to the alert
// webhook once
// (the notifier's SET NX per anomaly; a Redis lock lets one worker of N do each pass).

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { periodicTask } from '../periodic.js';
import { asError } from '../retry.js';
import { anomalyRoutes } from './routes.js';
import { ANOMALY_DIMENSIONS } from './series.js';
import { alertAnomalies, resolveAnomalySettings } from './service.js';

const PASS_MS = 15 * 60_000;
const LOCK_KEY = 'anomalies:alert:lock';

async function anomaliesPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const settings = resolveAnomalySettings(opts.config.file);
  if (opts.config.role !== 'worker') await app.register(anomalyRoutes, { settings });
  if (opts.config.role === 'proxy' || !settings.alert || !app.alerts.enabled) return;

  const log = app.log.child({ component: 'anomalies' });
  const run = async () => {
    if ((await app.redis.set(LOCK_KEY, '1', 'PX', PASS_MS - 30_000, 'NX')) !== 'OK') return;
    await alertAnomalies(app.warehouse, app.alerts, settings, ANOMALY_DIMENSIONS, Date.now());
  };
  periodicTask(app, run, {
    everyMs: PASS_MS,
    firstAfterMs: 10_000,
    onError: (err) => log.warn({ err: asError(err).message }, 'anomaly pass failed'),
  });
}

export default fp(anomaliesPlugin, { name: 'anomalies', dependencies: ['alerts', 'redis'] });
