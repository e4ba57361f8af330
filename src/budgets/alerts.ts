// Soft budgets only alert: once per scope and period (the ledger's `alerted` flag decides, atomically, which
// settlement crossed the line), as a webhook alert (src/alerts) and a Prometheus counter. A hard budget
// refusal raises `hard_budget_hit`, which the alert notifier de-duplicates per scope and period.
import { Counter } from 'prom-client';
import { isoSeconds } from '../periods.js';
import { nanoToUsd } from '../spendRecord.js';
import type { BudgetScope } from './scopes.js';

export interface BudgetMetrics {
  softBudgetAlerts: Counter<'scope'>;
  refusals: Counter<'reason' | 'scope'>;
}

/** Counters are not registered anywhere by default; the /metrics owner registers them (app.budgetMetrics). */
export function createBudgetMetrics(): BudgetMetrics {
  return {
    softBudgetAlerts: new Counter({
      name: 'spendhouse_soft_budget_alerts_total',
      help: 'Soft budgets crossed (one per scope and period)',
      labelNames: ['scope'],
      registers: [],
    }),
    refusals: new Counter({
      name: 'spendhouse_budget_refusals_total',
      help: 'Calls refused by budgets and rate limits',
      labelNames: ['reason', 'scope'],
      registers: [],
    }),
  };
}

export interface SoftBudgetAlert {
  event: 'soft_budget_crossed';
  scope: string;
  scope_type: string;
  label: string;
  spend: string;
  soft_budget: string;
  max_budget: string | null;
  period_start: string;
  period_end: string | null;
}

export interface HardBudgetAlert extends Omit<SoftBudgetAlert, 'event' | 'soft_budget'> {
  event: 'hard_budget_hit';
}

export type BudgetAlert = SoftBudgetAlert | HardBudgetAlert;

/** Where budget alerts go (the app's alert notifier); `periodEnd` bounds the de-duplication window. */
export type BudgetAlertSender = (alert: BudgetAlert, periodEnd: Date | null) => void;

export function hardBudgetAlert(scope: BudgetScope, spentNano: number): HardBudgetAlert {
  const { soft_budget: _soft, event: _event, ...rest } = softBudgetAlert(scope, spentNano);
  return { ...rest, event: 'hard_budget_hit' };
}

export function softBudgetAlert(scope: BudgetScope, spentNano: number): SoftBudgetAlert {
  return {
    event: 'soft_budget_crossed',
    scope: scope.id,
    scope_type: scope.kind,
    label: scope.label,
    spend: nanoToUsd(spentNano),
    soft_budget: nanoToUsd(scope.softNano ?? 0),
    max_budget: scope.maxNano == null ? null : nanoToUsd(scope.maxNano),
    period_start: isoSeconds(scope.period.start),
    period_end: scope.period.end ? isoSeconds(scope.period.end) : null,
  };
}
