// Budget gauges of every team and key that has a max budget: max, spend, remaining, utilisation and the
// forecast (projected spend at the period's end, run-out instant), from the budget watch on a timer
// (never per request, never per scrape). The series are replaced wholesale each refresh so a deleted
// team's gauges disappear.
import { Gauge, type Metric } from 'prom-client';
import type { BudgetWatch } from '../budgetWatch/budgetWatch.js';

export interface BudgetGauges {
  metrics: Metric[];
  refresh(): Promise<number>;
}

export function createBudgetGauges(watch: BudgetWatch): BudgetGauges {
  const labelNames = ['scope_type', 'scope'] as const;
  // `first`: under `serve --workers N` one process refreshes (plugin.ts); the others hold no series.
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames, registers: [], aggregator: 'first' });
  const max = gauge(
    'spendhouse_budget_max_nano',
    'Max budget of the current period in nano-USD (teams, users, customers, tags, keys)',
  );
  const spent = gauge('spendhouse_budget_spend_nano', 'Spend of the current budget period in nano-USD');
  const remaining = gauge('spendhouse_budget_remaining_nano', 'Max budget minus spend, in nano-USD (0 when over)');
  const utilisation = gauge('spendhouse_budget_utilisation_ratio', 'Spend / max budget of the current period');
  const forecastEnd = gauge(
    'spendhouse_budget_forecast_nano',
    'Projected spend at the end of the current budget period in nano-USD (docs/finops.md, Forecasts)',
  );
  const runsOut = gauge(
    'spendhouse_budget_runout_timestamp_seconds',
    'When the projected spend reaches the max budget (Unix seconds); absent when it does not this period',
  );
  const all = [max, spent, remaining, utilisation, forecastEnd, runsOut];

  return {
    metrics: all,
    async refresh() {
      const statuses = await watch.statuses({ forecast: true });
      for (const g of all) g.reset();
      for (const { scope, maxNano, spentNano, forecast } of statuses) {
        const labels = { scope_type: scope.type, scope: scope.label };
        max.set(labels, maxNano);
        spent.set(labels, spentNano);
        remaining.set(labels, Math.max(0, maxNano - spentNano));
        utilisation.set(labels, maxNano > 0 ? spentNano / maxNano : 0);
        if (forecast?.period_end_spend_nano != null) forecastEnd.set(labels, forecast.period_end_spend_nano);
        if (forecast?.runs_out_at) runsOut.set(labels, Date.parse(forecast.runs_out_at) / 1000);
      }
      return statuses.length;
    },
  };
}
