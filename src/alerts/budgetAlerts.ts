// Budget alerts (src/budgets) as webhook events: soft crossings and hard refusals, each at most once per
// scope and budget period (the de-duplication window runs to the period's end). A lifetime budget (no
// budget_duration) has one period for life: its alerts are de-duplicated per budget amount for good, so a
// crossed line is told once, and raising (or lowering) the budget re-arms it.
import type { BudgetAlert, BudgetAlertSender } from '../budgets/alerts.js';
import type { AlertNotifier } from './notifier.js';

/** Lifetime budgets have no period end: their alerts hold for ten years, the life of the budget. */
export const LIFETIME_DEDUP_SECONDS = 10 * 365 * 86_400;

/** A budget alert's de-duplication window: the rest of its period (LIFETIME_DEDUP_SECONDS without one). */
export function periodDedupSeconds(periodEnd: Date | null, nowMs: number): number {
  return periodEnd ? (periodEnd.getTime() - nowMs) / 1000 : LIFETIME_DEDUP_SECONDS;
}

/**
 * What a budget alert's subject says of its period: the period's start, or for a lifetime budget (one period
 * for good) the budget amount the alert is about, so that a new amount is a new subject.
 */
export function periodSubject(periodStart: string, periodEnd: Date | string | null, amount: string | null): string {
  return periodEnd ? periodStart : `lifetime:${amount ?? 'none'}`;
}

/** `1.200000000` → `$1.20`, `0.001010000` → `$0.00101`: exact digits, without the trailing zeros. */
export const usd = (decimal: string | null) => `$${(decimal ?? '0').replace(/(\.\d{2}\d*?)0+$/, '$1')}`;

function budgetText(alert: BudgetAlert): string {
  const period = alert.period_end ? ` (period ${alert.period_start} to ${alert.period_end})` : '';
  if (alert.event === 'soft_budget_crossed') {
    const max = alert.max_budget ? `, max budget ${usd(alert.max_budget)}` : '';
    return `Soft budget crossed: ${alert.label} spent ${usd(alert.spend)} of its ${usd(alert.soft_budget)} soft budget${max}${period}`;
  }
  return `Hard budget hit: ${alert.label} has spent ${usd(alert.spend)} of ${usd(alert.max_budget)}; calls are refused${period}`;
}

export function budgetAlertSender(notifier: AlertNotifier, nowMs: () => number = Date.now): BudgetAlertSender {
  return (alert, periodEnd) => {
    const dedupSeconds = periodDedupSeconds(periodEnd, nowMs());
    const { event, ...fields } = alert;
    const amount = alert.event === 'soft_budget_crossed' ? alert.soft_budget : alert.max_budget;
    const subject = `${alert.scope}:${periodSubject(alert.period_start, periodEnd, amount)}`;
    notifier.send({ event, subject, text: budgetText(alert), fields, dedupSeconds }).catch(() => {
      // Redis unreachable: the budget guard's own fail mode already governs the call; no alert this time.
    });
  };
}
