// Budget alerts from the budget watch (src/forecast/budgetWatch.ts): utilisation thresholds (50/80/100% by
// default) and forecasts that pass the max budget before the period ends. Each threshold alerts once per
// scope and period (a lifetime budget's: once per max budget, for good — budgetAlerts.ts); when a check finds several newly crossed, only the highest is sent (the lower ones
// would say less, a moment later). A forecast alert repeats at most once per cooldown while it holds.
import type { BudgetStatus } from '../budgetWatch/budgetWatch.js';
import { isoSeconds } from '../periods.js';
import { nanoToUsd } from '../spendRecord.js';
import { periodDedupSeconds, periodSubject, usd } from './budgetAlerts.js';
import type { AlertEvent } from './notifier.js';

export const DEFAULT_BUDGET_THRESHOLDS = [50, 80, 100];
export const DEFAULT_FORECAST_COOLDOWN_SECONDS = 86_400;

export interface BudgetWatchAlertOptions {
  thresholds: readonly number[];
  forecast: boolean;
  forecastCooldownSeconds: number;
  nowMs: number;
}

const usdOf = (nano: number) => usd(nanoToUsd(nano));

export function budgetWatchAlerts(statuses: readonly BudgetStatus[], opts: BudgetWatchAlertOptions): AlertEvent[] {
  const events: AlertEvent[] = [];
  for (const { scope, maxNano, spentNano, period, forecast } of statuses) {
    if (maxNano <= 0) continue;
    const periodKey = isoSeconds(period.start);
    const thresholdKey = periodSubject(periodKey, period.end, nanoToUsd(maxNano));
    const untilPeriodEnd = periodDedupSeconds(period.end, opts.nowMs);
    const periodText = period.end ? ` (period ${isoSeconds(period.start)} to ${isoSeconds(period.end)})` : '';
    const fields = {
      scope: scope.id,
      scope_type: scope.type,
      label: scope.label,
      spend: nanoToUsd(spentNano),
      max_budget: nanoToUsd(maxNano),
      period_start: period.start.toISOString(),
      period_end: period.end?.toISOString() ?? null,
    };
    const crossed = opts.thresholds.filter((p) => spentNano * 100 >= maxNano * p);
    const highest = crossed.length ? Math.max(...crossed) : null;
    if (highest !== null) {
      events.push({
        event: 'budget_threshold_crossed',
        subject: `${scope.id}:${thresholdKey}:${highest}`,
        text: `Budget ${highest}% reached: ${scope.label} spent ${usdOf(spentNano)} of ${usdOf(maxNano)}${periodText}`,
        fields: { ...fields, threshold_percent: highest },
        dedupSeconds: untilPeriodEnd,
      });
    }
    const runsOut = forecast?.runs_out_at ?? null;
    if (opts.forecast && forecast && runsOut && spentNano < maxNano) {
      const projected = forecast.period_end_spend_nano;
      events.push({
        event: 'budget_forecast_exceeded',
        subject: `${scope.id}:${periodKey}`,
        text: `Budget forecast: ${scope.label} is projected to reach its ${usdOf(maxNano)} budget at ${runsOut}${
          projected !== null ? `, and ${usdOf(projected)} by the period's end` : ''
        } (spent ${usdOf(spentNano)} so far${periodText}; method ${forecast.method})`,
        fields: {
          ...fields,
          runs_out_at: runsOut,
          projected_spend: projected === null ? null : nanoToUsd(projected),
          method: forecast.method,
        },
        dedupSeconds: Math.min(opts.forecastCooldownSeconds, untilPeriodEnd),
      });
    }
  }
  return events;
}
