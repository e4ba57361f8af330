// The budget watch (`app.budgetWatch`): read by GET /spend/forecast and the budget gauges of /metrics, and, when alert webhooks are
// configured, checked on a timer for utilisation thresholds and forecasts (src/alerts/budgetWatchAlerts.ts).
// Forecasts are recomputed at most every FORECAST_EVERY_MS (they move with whole days of spend).

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  budgetWatchAlerts,
  DEFAULT_BUDGET_THRESHOLDS,
  DEFAULT_FORECAST_COOLDOWN_SECONDS,
} from '../alerts/budgetWatchAlerts.js';
import type { AppConfig } from '../config/load.js';
import { periodicTask } from '../periodic.js';
import { type BudgetWatch, createBudgetWatch } from './budgetWatch.js';
import { forecastRoutes } from './routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    budgetWatch: BudgetWatch;
  }
}

export const DEFAULT_BUDGET_CHECK_SECONDS = 60;
const FORECAST_EVERY_MS = 5 * 60_000;

async function budgetWatchPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const settings = opts.config.file.alerts;
  const log = app.log.child({ component: 'budget-watch' });
  const watch = createBudgetWatch(app.controlPlane, app.budgetLedger, app.warehouse, {
    onSkipped: (skipped, watched) =>
      log.warn(
        { skipped, watched },
        `budget watch: ${skipped} budgeted scope(s) past the first ${watched} get no forecast, gauge or budget alert`,
      ),
  });
  app.decorate('budgetWatch', watch);
  await app.register(forecastRoutes, { watch });
  const thresholds = settings.budget_thresholds_percent ?? DEFAULT_BUDGET_THRESHOLDS;
  const forecastAlerts = settings.forecast_alerts ?? true;
  if (!app.alerts.enabled || (thresholds.length === 0 && !forecastAlerts)) return;

  let lastForecastMs = 0;
  const check = async () => {
    const nowMs = Date.now();
    const forecast = forecastAlerts && nowMs - lastForecastMs >= FORECAST_EVERY_MS;
    const statuses = await watch.statuses({ forecast });
    if (forecast) lastForecastMs = nowMs;
    const events = budgetWatchAlerts(statuses, {
      thresholds,
      forecast,
      forecastCooldownSeconds: settings.forecast_alert_cooldown_seconds ?? DEFAULT_FORECAST_COOLDOWN_SECONDS,
      nowMs,
    });
    for (const event of events) await app.alerts.send(event);
  };
  periodicTask(app, check, {
    everyMs: (settings.budget_check_seconds ?? DEFAULT_BUDGET_CHECK_SECONDS) * 1000,
    onError: (err) => log.warn({ err }, 'budget threshold and forecast checks failed'),
  });
}

export default fp(budgetWatchPlugin, {
  name: 'budget-watch',
  dependencies: ['management', 'budgets', 'alerts', 'clickhouse'],
});
