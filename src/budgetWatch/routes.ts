// GET /spend/forecast (admins): every budget (team, user, customer, tag, key) with its spend, its period and
// its forecast — projected spend at the period's end and when it runs out (budgetForecast.ts). Money as exact
// decimal USD strings, like the query API. The Budgets tab shows it beside each row's spend.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { nanoToUsd } from '../spendRecord.js';
import { BUDGET_SCOPE_TYPES, type BudgetWatch } from './budgetWatch.js';

const forecastQuery = z.strictObject({ scope_type: z.enum(BUDGET_SCOPE_TYPES).optional() });

export async function forecastRoutes(app: FastifyInstance, opts: { watch: BudgetWatch }): Promise<void> {
  app.get('/spend/forecast', async (request) => {
    await requireAdmin(app, request);
    const { scope_type } = forecastQuery.parse(request.query ?? {});
    const statuses = await opts.watch.statuses({ forecast: true });
    return {
      budgets: statuses
        .filter((s) => scope_type === undefined || s.scope.type === scope_type)
        .map(({ scope, maxNano, spentNano, period, forecast }) => ({
          scope_type: scope.type,
          scope: scope.id,
          label: scope.label,
          max_budget_usd: nanoToUsd(maxNano),
          spend_usd: nanoToUsd(spentNano),
          period_start: period.start.toISOString(),
          period_end: period.end?.toISOString() ?? null,
          forecast: forecast && {
            method: forecast.method,
            daily_rate_usd: nanoToUsd(forecast.daily_rate_nano),
            period_end_spend_usd:
              forecast.period_end_spend_nano === null ? null : nanoToUsd(forecast.period_end_spend_nano),
            runs_out_at: forecast.runs_out_at,
            exceeds_budget: forecast.exceeds_budget,
          },
        })),
    };
  });
}
