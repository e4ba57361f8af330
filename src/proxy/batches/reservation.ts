// The budget reservation of a batch: its worst-case cost (every line at its dearest, at the batch price)
// reserved on every budget scope of the creating call — key, key per model, user, team, member, customer,
// tags — in one ledger admit, exactly as a proxied call reserves, but without rate limits (OpenAI counts
// batch tokens apart) and for as long as a batch may run. A batch that would break a hard budget is refused
// before it reaches OpenAI. The worker's poller settles each result line and then releases the reservation.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { formatUsd } from '../../budgets/guard.js';
import type { BudgetLedger } from '../../budgets/ledger.js';
import { ledgerBudgets } from '../../budgets/ledger.js';
import type { CounterRebuilder } from '../../budgets/rebuild.js';
import { resolveScopes } from '../../budgets/scopes.js';
import type { CallContext } from '../../callGuards.js';
import { AppError } from '../../errors.js';
import type { ControlCache } from '../../management/cache.js';

/** OpenAI's completion window is 24 h; a day more lets the poller settle before the sweep gives it back. */
export const BATCH_RESERVATION_TTL_MS = 48 * 3600_000;

export interface BatchReservationDeps {
  cache: ControlCache;
  ledger: BudgetLedger;
  rebuilder: CounterRebuilder;
  timeZone: string;
  failMode: 'closed' | 'open';
  log: FastifyBaseLogger;
}

/** The reservation's id (released by the poller), or null when nothing needed reserving. */
export async function reserveBatch(
  deps: BatchReservationDeps,
  ctx: Omit<CallContext, 'requestId'>,
): Promise<string | null> {
  const requestId = `batch-reservation:${randomUUID()}`;
  const call: CallContext = { ...ctx, requestId };
  let scopes: Awaited<ReturnType<typeof resolveScopes>>;
  try {
    scopes = await resolveScopes(call, deps.cache, deps.timeZone);
  } catch (err) {
    if (err instanceof AppError) throw err;
    return unavailable(deps, err);
  }
  if (scopes.budgets.length === 0) return null;
  // One admit, the missing counters rebuilt and retried (CounterRebuilder.admit, as for proxied calls).
  let result: Awaited<ReturnType<CounterRebuilder['admit']>>;
  try {
    result = await deps.rebuilder.admit(
      {
        requestId,
        nowMs: ctx.now.getTime(),
        amountNano: ctx.maxCostNano,
        promptTokens: 0,
        reservationTtlMs: BATCH_RESERVATION_TTL_MS,
        budgets: ledgerBudgets(scopes.budgets),
        rates: [],
      },
      scopes.budgets,
    );
  } catch (err) {
    return unavailable(deps, err);
  }
  if (result.ok) return requestId;
  if (result.reason !== 'budget') throw new Error(`unexpected batch admission refusal ${result.reason}`);
  const scope = scopes.budgets[result.index];
  const message =
    `Budget exceeded for ${scope?.label ?? 'a budget'}: this batch may cost up to ${formatUsd(ctx.maxCostNano)} ` +
    `(batch price, every line at its output limit); spent ${formatUsd(result.spent)}, reserved ` +
    `${formatUsd(result.reserved)} of ${formatUsd(scope?.maxNano ?? 0)}`;
  throw new AppError('budget_exceeded', message, { headers: { 'x-should-retry': 'false' } });
}

/** Redis or the control plane is unreachable: budget_fail_mode decides, as for proxied calls. */
function unavailable(deps: BatchReservationDeps, err: unknown): null {
  deps.log.error({ err }, `budget ledger unavailable for a batch (budget_fail_mode: ${deps.failMode})`);
  if (deps.failMode === 'open') return null;
  throw new AppError('service_unavailable', 'budgets cannot be checked right now; the batch was not created', {
    headers: { 'retry-after': '1' },
    cause: err,
  });
}
