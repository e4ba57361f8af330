// Registers the budget/rate-limit guard in `app.callGuards` (the `budget` admission phase, run by the proxy
// around every call).
// Depends on the management plugin for the control-plane cache.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { budgetAlertSender } from '../alerts/budgetAlerts.js';
import type { AppConfig } from '../config/load.js';
import { assertTimeZone } from '../periods.js';
import { type BudgetMetrics, createBudgetMetrics } from './alerts.js';
import { type BudgetCharger, budgetCharger } from './charge.js';
import { budgetGuard } from './guard.js';
import { BudgetLedger } from './ledger.js';
import { CounterRebuilder } from './rebuild.js';

declare module 'fastify' {
  interface FastifyInstance {
    budgetLedger: BudgetLedger;
    budgetMetrics: BudgetMetrics;
    /** Adds ingested records (not proxied) to the live budget counters. */
    budgetCharger: BudgetCharger;
  }
}

async function budgetsPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  assertTimeZone(config.budgetTimezone);
  const ledger = new BudgetLedger(app.redis);
  const metrics = createBudgetMetrics();
  app.decorate('budgetLedger', ledger);
  app.decorate('budgetMetrics', metrics);
  const rebuilder = new CounterRebuilder(app.warehouse, ledger);
  const log = app.log.child({ component: 'budgets' });
  app.decorate(
    'budgetCharger',
    budgetCharger({
      cache: app.controlPlane.cache,
      ledger,
      rebuilder,
      timeZone: config.budgetTimezone,
      now: () => new Date(),
      log,
    }),
  );
  app.callGuards.addAdmission(
    'budget',
    budgetGuard({
      cache: app.controlPlane.cache,
      ledger,
      rebuilder,
      timeZone: config.budgetTimezone,
      failMode: config.budgetFailMode,
      sendAlert: app.hasDecorator('alerts') ? budgetAlertSender(app.alerts) : null,
      metrics,
      log,
    }),
  );
}

export default fp(budgetsPlugin, {
  name: 'budgets',
  dependencies: ['redis', 'clickhouse', 'management', 'call-guards'],
});
