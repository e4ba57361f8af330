// The alert notifier (`app.alerts`) and the timer of operational checks. Registered before the budgets
// plugin, which sends its soft/hard budget alerts through it. The webhook URL is alerts.webhook_url, or
// budgets.alert_webhook_url for configs written before alerts existed.

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { oldestQueuedAgeSeconds } from '../metrics/systemMetrics.js';
import { startPeriodic } from '../periodic.js';
import { operationalAlerts } from './checks.js';
import { AlertNotifier } from './notifier.js';

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertNotifier;
  }
}

export const DEFAULT_DEDUP_SECONDS = 3600;
export const DEFAULT_INGEST_LAG_SECONDS = 300;
export const DEFAULT_CHECK_INTERVAL_SECONDS = 30;

async function alertsPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { alerts: settings, budgets } = opts.config.file;
  const log = app.log.child({ component: 'alerts' });
  const notifier = new AlertNotifier(app.redis, {
    url: settings.webhook_url ?? budgets.alert_webhook_url ?? null,
    dedupSeconds: settings.dedup_seconds ?? DEFAULT_DEDUP_SECONDS,
    log,
  });
  app.decorate('alerts', notifier);
  if (!notifier.enabled) return;

  // The ingest and archive plugins register after this one: their state is read at check time.
  const runChecks = async () => {
    const events = await operationalAlerts(
      {
        ingestLagSeconds: () => oldestQueuedAgeSeconds(app.spendProducer),
        deadLetterCount: () => app.deadLetters.count(),
        archiveError: () => (app.hasDecorator('archive') ? app.archive.scheduler.status.lastError : null),
      },
      settings.ingest_lag_seconds ?? DEFAULT_INGEST_LAG_SECONDS,
    );
    for (const event of events) await notifier.send(event);
  };
  let stop: (() => void) | null = null;
  app.addHook('onReady', async () => {
    stop = startPeriodic(runChecks, {
      everyMs: (settings.check_interval_seconds ?? DEFAULT_CHECK_INTERVAL_SECONDS) * 1000,
      onError: (err) => log.warn({ err }, 'operational alert checks failed'),
    });
  });
  // The checks stop before the notifier drains: nothing is sent after the drain.
  app.addHook('onClose', async () => {
    stop?.();
    await notifier.drain();
  });
}

export default fp(alertsPlugin, { name: 'alerts', dependencies: ['redis'] });
