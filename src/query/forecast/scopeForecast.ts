// A budget scope's forecast from the warehouse: its daily spend over the last HISTORY_DAYS local days and
// today, asked through the query planner (a daily rollup answers UTC budgets), then budgetForecast.ts.
import { z } from 'zod';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import type { Period } from '../../periods.js';
import { runReport } from '../engine.js';
import { dimensionFilters, type SpendFilter } from '../spendTotal.js';
import { type BudgetForecast, type DailySpend, forecastBudget, historyWindow } from './budgetForecast.js';

export interface ScopeBudget {
  spend: SpendFilter;
  maxNano: number | null;
  period: Period;
  /** Spend of the current period (the ledger's counter or the warehouse's sum). */
  spentNano: number;
}

const bucketRow = z.object({ bucket: z.string(), cost_nano: z.union([z.number(), z.string()]) });

export async function scopeForecast(
  warehouse: Warehouse,
  budget: ScopeBudget,
  timeZone: string,
  nowMs = Date.now(),
): Promise<BudgetForecast> {
  const { fromMs, today } = historyWindow(nowMs, timeZone);
  const result = await runReport(
    warehouse,
    {
      from: new Date(fromMs).toISOString(),
      to: today.end.toISOString(),
      timezone: timeZone,
      granularity: 'day',
      filters: dimensionFilters(budget.spend),
      metrics: ['cost'],
    },
    {},
  );
  const history: DailySpend[] = [];
  let todayNano = 0;
  for (const row of result.rows) {
    const { bucket, cost_nano } = bucketRow.parse(row);
    const dayStartMs = Date.parse(bucket);
    const costNano = Number(cost_nano);
    if (dayStartMs >= today.start.getTime()) todayNano += costNano;
    else history.push({ dayStartMs, costNano });
  }
  return forecastBudget({
    spentNano: budget.spentNano,
    maxNano: budget.maxNano,
    period: budget.period,
    nowMs,
    timeZone,
    history,
    todayNano,
  });
}
