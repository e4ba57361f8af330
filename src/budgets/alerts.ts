// Soft budgets only alert: once per scope and period (the ledger's `alerted` flag decides, atomically, which
// settlement crossed the line), as a POST to `budgets.alert_webhook_url` and a Prometheus counter.
import { Counter } from 'prom-client';
import { nanoToUsd } from '../spendRecord.js';
import { isoSeconds } from './duration.js';
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

/** Fire-and-forget delivery; failures are logged, never surfaced to the call that crossed the line. */
export async function postAlert(url: string, alert: SoftBudgetAlert): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alert),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`alert webhook answered ${response.status}`);
}
