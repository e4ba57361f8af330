// The budget and rate-limit CallGuard: before a call, reserve its worst-case cost on every scope and count
// it against every rate window in one ADMIT_CALL; after it, settle to the actual cost (SETTLE_CALL).
import type { FastifyBaseLogger } from 'fastify';
import type { Admission, AdmissionGuard, CallContext, CallOutcome } from '../callGuards.js';
import { AppError } from '../errors.js';
import type { ControlCache } from '../management/cache.js';
import { isoSeconds } from '../periods.js';
import { nanoToUsd } from '../spendRecord.js';
import { type BudgetAlertSender, type BudgetMetrics, hardBudgetAlert, softBudgetAlert } from './alerts.js';
import {
  type AdmitResult,
  type BudgetLedger,
  type LedgerBudget,
  type LedgerRate,
  ledgerBudgets,
  rateWindow,
} from './ledger.js';
import type { CounterRebuilder } from './rebuild.js';
import { type CallScopes, resolveScopes } from './scopes.js';

/**
 * A reservation not settled within this time is given back by the next admit's sweep (the proxy holding it
 * is presumed dead). Longer than any call we forward; a call that outlives it still settles its real cost.
 */
export const RESERVATION_TTL_MS = 15 * 60_000;

export interface BudgetGuardDeps {
  cache: ControlCache;
  ledger: BudgetLedger;
  rebuilder: CounterRebuilder;
  timeZone: string;
  failMode: 'closed' | 'open';
  /** Soft-budget crossings and hard-budget refusals (the app's alert notifier); null = no alerts. */
  sendAlert: BudgetAlertSender | null;
  metrics: BudgetMetrics;
  log: FastifyBaseLogger;
}

const UNGUARDED: Admission = { settle: async () => {} };

/** Exact USD with at least cents: `$1000.00`, `$0.992`, `$0.000004213` (a refusal names the real amounts). */
export function formatUsd(nano: number): string {
  const exact = nanoToUsd(Math.max(0, Math.trunc(nano)));
  return `$${exact.replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

const secondsUntil = (endMs: number, nowMs: number) => String(Math.max(1, Math.ceil((endMs - nowMs) / 1000)));

function refusal(result: Exclude<AdmitResult, { ok: true } | { reason: 'load' }>, scopes: CallScopes, nowMs: number) {
  if (result.reason === 'budget') {
    const scope = scopes.budgets[result.index];
    if (!scope) throw new Error('budget refusal for an unknown scope');
    const end = scope.period.end;
    const headers: Record<string, string> = { 'x-should-retry': 'false' };
    if (end) headers['retry-after'] = secondsUntil(end.getTime(), nowMs);
    const resets = end ? ` (resets ${isoSeconds(end)})` : '';
    const message = `Budget exceeded for ${scope.label}: spent ${formatUsd(result.spent)} of ${formatUsd(scope.maxNano ?? 0)}${resets}`;
    return new AppError('budget_exceeded', message, { headers });
  }
  const scope = scopes.rates[result.index];
  if (!scope) throw new Error('rate refusal for an unknown scope');
  const what = {
    rpm: `${result.used} of ${scope.rpm} requests per minute`,
    tpm: `${result.used} of ${scope.tpm} tokens per minute`,
    parallel: `${result.used} of ${scope.parallel} parallel requests`,
  }[result.reason];
  const retryAfter = result.reason === 'parallel' ? '1' : secondsUntil(result.windowEnd, nowMs);
  return new AppError('rate_limit_exceeded', `Rate limit exceeded for ${scope.label}: ${what}`, {
    headers: { 'retry-after': retryAfter, ...rateHeaders(scopes, null, result.windowEnd, nowMs) },
  });
}

/** x-ratelimit-* for the tightest request and token limits among the call's rate scopes. */
function rateHeaders(
  scopes: CallScopes,
  used: { rpm: number[]; tpm: number[] } | null,
  windowEnd: number,
  nowMs: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = `${secondsUntil(windowEnd, nowMs)}s`;
  for (const [unit, field] of [
    ['requests', 'rpm'],
    ['tokens', 'tpm'],
  ] as const) {
    let best: { limit: number; remaining: number } | null = null;
    scopes.rates.forEach((scope, i) => {
      const limit = scope[field];
      if (limit == null) return;
      const remaining = used ? Math.max(0, limit - (used[field][i] ?? 0)) : 0;
      if (!best || remaining < best.remaining) best = { limit, remaining };
    });
    const chosen = best as { limit: number; remaining: number } | null;
    if (!chosen) continue;
    headers[`x-ratelimit-limit-${unit}`] = String(chosen.limit);
    headers[`x-ratelimit-remaining-${unit}`] = String(chosen.remaining);
    headers[`x-ratelimit-reset-${unit}`] = reset;
  }
  return headers;
}

/** SETTLE_CALL to the call's real cost; a soft budget it crossed is counted, logged and alerted. */
async function settleCall(
  deps: BudgetGuardDeps,
  ctx: CallContext,
  scopes: CallScopes,
  budgets: LedgerBudget[],
  rates: LedgerRate[],
  outcome: CallOutcome,
  admittedAt: number,
): Promise<void> {
  const nowMs = ctx.now.getTime() + (Date.now() - admittedAt);
  // The admission counted the prompt's upper bound in its tpm window: while still in that window, the
  // bound is corrected to the real count (0 for a call that never reached the provider).
  const sameWindow = rateWindow(nowMs).start === rateWindow(ctx.now.getTime()).start;
  const promptCorrection = sameWindow ? Math.max(0, outcome.promptTokens) - ctx.promptTokens : 0;
  const crossed = await deps.ledger.settle({
    requestId: ctx.requestId,
    nowMs,
    costNano: Math.max(0, Math.round(outcome.costNano)),
    tokens: Math.max(0, outcome.completionTokens) + promptCorrection,
    budgets,
    rates,
  });
  for (const i of crossed ?? []) {
    const scope = scopes.budgets[i];
    const budget = budgets[i];
    if (!scope || !budget) continue;
    deps.metrics.softBudgetAlerts.inc({ scope: scope.kind });
    const { spent } = await deps.ledger.read(budget.key);
    const alert = softBudgetAlert(scope, spent);
    deps.log.warn({ alert }, 'soft budget crossed');
    deps.sendAlert?.(alert, scope.period.end);
  }
}

/** Redis (or ClickHouse, for a rebuild or a cache miss) is unreachable: the configured fail mode decides. */
function unavailable(deps: BudgetGuardDeps, err: unknown): Admission {
  deps.log.error({ err }, `budget ledger unavailable (budget_fail_mode: ${deps.failMode})`);
  if (deps.failMode === 'open') return UNGUARDED;
  throw new AppError('service_unavailable', 'budgets cannot be checked right now; the call was not forwarded', {
    headers: { 'retry-after': '1' },
    cause: err,
  });
}

/** A refused call: counted, a hard-budget alert asked for, and the 429 that names the scope. */
function refuse(
  deps: BudgetGuardDeps,
  result: Exclude<AdmitResult, { ok: true } | { reason: 'load' }>,
  scopes: CallScopes,
  nowMs: number,
): AppError {
  const scopeKind = result.reason === 'budget' ? scopes.budgets[result.index]?.kind : 'rate';
  deps.metrics.refusals.inc({ reason: result.reason, scope: scopeKind ?? 'unknown' });
  const hit = result.reason === 'budget' ? scopes.budgets[result.index] : undefined;
  if (hit && 'spent' in result) deps.sendAlert?.(hardBudgetAlert(hit, result.spent), hit.period.end);
  return refusal(result, scopes, nowMs);
}

export function budgetGuard(deps: BudgetGuardDeps): AdmissionGuard {
  return {
    name: 'budgets',
    async admit(ctx: CallContext): Promise<Admission> {
      let scopes: CallScopes;
      try {
        scopes = await resolveScopes(ctx, deps.cache, deps.timeZone);
      } catch (err) {
        // A blocked entity is a refusal; anything else means the control plane is unreachable.
        if (err instanceof AppError) throw err;
        return unavailable(deps, err);
      }
      if (scopes.budgets.length === 0 && scopes.rates.length === 0) return UNGUARDED;
      const budgets = ledgerBudgets(scopes.budgets);
      const rates: LedgerRate[] = scopes.rates.map((r) => ({
        scopeId: r.id,
        rpm: r.rpm,
        tpm: r.tpm,
        parallel: r.parallel,
      }));
      const nowMs = ctx.now.getTime();
      let result: AdmitResult;
      try {
        result = await deps.rebuilder.admit(
          {
            requestId: ctx.requestId,
            nowMs,
            amountNano: Math.max(0, Math.ceil(ctx.maxCostNano)),
            promptTokens: ctx.promptTokens,
            reservationTtlMs: RESERVATION_TTL_MS,
            budgets,
            rates,
          },
          scopes.budgets,
        );
      } catch (err) {
        return unavailable(deps, err);
      }
      if (!result.ok) throw refuse(deps, result, scopes, nowMs);
      const admittedAt = Date.now();
      return {
        headers: rateHeaders(scopes, { rpm: result.rpmUsed, tpm: result.tpmUsed }, result.windowEnd, nowMs),
        settle: async (outcome) => {
          try {
            await settleCall(deps, ctx, scopes, budgets, rates, outcome, admittedAt);
          } catch (err) {
            // The reservation expires on its own; the spend record still reaches ClickHouse for rebuilds.
            deps.log.error({ err, requestId: ctx.requestId }, 'budget settlement failed');
          }
        },
      };
    },
  };
}
