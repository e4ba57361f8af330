// Forecasts from the warehouse: daily spend over the last HISTORY_DAYS local days and today, asked through
// the query planner (for UTC budgets spend_scope_daily answers a key's, team's, user's, customer's or tag's
// days, per scope for many at once: the budget watch) — then budgetForecast.ts.
import { z } from 'zod';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import type { Period } from '../../periods.js';
import type { Dimension } from '../catalog.js';
import { runReport } from '../engine.js';
import type { DimensionFilter } from '../request.js';
import { dimensionFilters, type SpendFilter } from '../spendTotal.js';
import { type BudgetForecast, type DailySpend, forecastBudget, historyWindow, localDay } from './budgetForecast.js';

export interface ScopeBudget {
  spend: SpendFilter;
  maxNano: number | null;
  period: Period;
  /** Spend of the current period (the ledger's counter or the warehouse's sum). */
  spentNano: number;
}

/** Local day start (epoch ms) → spend in nano-USD. */
export type DaySpend = Map<number, number>;

const dayRow = z.object({ bucket: z.string(), cost_nano: z.union([z.number(), z.string()]) });
/** The dimensions a budget's daily spend is grouped by (one per budgeted scope kind; a key by its hashes). */
export type DailySpendGroup = 'key' | 'team' | 'user' | 'customer' | 'tag';
const groupValue = z.string().nullable().optional();
const groupRow = z.object({
  key: groupValue,
  team: groupValue,
  user: groupValue,
  customer: groupValue,
  tag: groupValue,
});

/**
 * The forecast window's daily spend of the calls `filters` pick, per value of `groupBy` ('' when not
 * grouped): one question through the planner.
 */
export async function dailySpend(
  warehouse: Warehouse,
  filters: Partial<Record<Dimension, DimensionFilter>>,
  timeZone: string,
  nowMs: number,
  groupBy?: DailySpendGroup,
): Promise<Map<string, DaySpend>> {
  const { fromMs, today } = historyWindow(nowMs, timeZone);
  const result = await runReport(
    warehouse,
    {
      from: new Date(fromMs).toISOString(),
      to: today.end.toISOString(),
      timezone: timeZone,
      granularity: 'day',
      group_by: groupBy ? [groupBy] : [],
      filters,
      metrics: ['cost'],
    },
    {},
  );
  const byValue = new Map<string, DaySpend>();
  for (const row of result.rows) {
    const { bucket, cost_nano } = dayRow.parse(row);
    const value = groupBy ? (groupRow.parse(row)[groupBy] ?? '') : '';
    const days = byValue.get(value) ?? new Map<number, number>();
    days.set(Date.parse(bucket), Number(cost_nano));
    byValue.set(value, days);
  }
  return byValue;
}

/** A budget's forecast from its daily spend: the complete days before today are its history. */
export function forecastFromDays(
  days: DaySpend,
  budget: Omit<ScopeBudget, 'spend'>,
  timeZone: string,
  nowMs: number,
): BudgetForecast {
  const todayStart = localDay(nowMs, timeZone).start.getTime();
  const history: DailySpend[] = [...days]
    .filter(([day]) => day < todayStart)
    .sort(([a], [b]) => a - b)
    .map(([dayStartMs, costNano]) => ({ dayStartMs, costNano }));
  return forecastBudget({ ...budget, nowMs, timeZone, history, todayNano: days.get(todayStart) ?? 0 });
}

export async function scopeForecast(
  warehouse: Warehouse,
  budget: ScopeBudget,
  timeZone: string,
  nowMs = Date.now(),
): Promise<BudgetForecast> {
  const days = await dailySpend(warehouse, dimensionFilters(budget.spend), timeZone, nowMs);
  return forecastFromDays(days.get('') ?? new Map(), budget, timeZone, nowMs);
}
