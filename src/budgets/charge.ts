// Spend that did not pass through the proxy (the ingest API, `npm run import`) still counts against
// budgets. Each accepted record is added to the current period's counter of every budget scope it belongs
// to (its key, user, team, member, customer and tags), after that counter is loaded from ClickHouse exactly
// as an admit would. The ledger's settled marker makes a record count once however often it is sent.
// Nothing is refused here: the call already happened; what changes is what the next proxied call may spend.
import type { FastifyBaseLogger } from 'fastify';
import type { CallContext } from '../callGuards.js';
import type { ControlCache } from '../management/cache.js';
import type { SpendRecord } from '../spendRecord.js';
import { type BudgetLedger, ledgerBudgets } from './ledger.js';
import type { CounterRebuilder } from './rebuild.js';
import { type BudgetScope, resolveScopes } from './scopes.js';

export type BudgetCharger = (records: readonly SpendRecord[]) => Promise<void>;

export interface BudgetChargerDeps {
  cache: ControlCache;
  ledger: BudgetLedger;
  rebuilder: CounterRebuilder;
  timeZone: string;
  now: () => Date;
  log: FastifyBaseLogger;
}

/** The attribution of a finished record, in the shape scope resolution reads. */
function contextOf(record: SpendRecord, now: Date): CallContext {
  return {
    requestId: record.request_id,
    principal: {
      kind: 'key',
      isAdmin: false,
      spendVisibility: 'key',
      permissions: [],
      keyHash: record.key_hash ?? '',
      keyAlias: record.key_alias,
      userId: record.user_id,
      teamId: record.team_id,
      models: [],
      tags: [],
      metadata: {},
    },
    model: record.model,
    provider: record.provider,
    upstreamModel: record.upstream_model,
    callType: record.call_type,
    customerId: record.customer_id,
    tags: record.tags,
    promptTokens: 0,
    maxCompletionTokens: 0,
    maxCostNano: 0,
    now,
  };
}

const inPeriod = (scope: BudgetScope, atMs: number) =>
  atMs >= scope.period.start.getTime() && (scope.period.end === null || atMs < scope.period.end.getTime());

export function budgetCharger(deps: BudgetChargerDeps): BudgetCharger {
  async function charge(record: SpendRecord): Promise<void> {
    const now = deps.now();
    const scopes = await resolveScopes(contextOf(record, now), deps.cache, deps.timeZone);
    // A record of an earlier period changes no live counter (a rebuild of that period reads ClickHouse).
    const current = scopes.budgets.filter((scope) => inPeriod(scope, Date.parse(record.start_time)));
    if (current.length === 0) return;
    const budgets = ledgerBudgets(current);
    await Promise.all(
      current.map(async (scope, i) => {
        const counter = budgets[i];
        if (counter && !(await deps.ledger.read(counter.key)).loaded) await deps.rebuilder.load(scope, now.getTime());
      }),
    );
    await deps.ledger.settle({
      requestId: record.request_id,
      nowMs: now.getTime(),
      costNano: record.cost_nano,
      tokens: 0,
      budgets,
      rates: [],
    });
  }

  return async (records) => {
    for (const record of records) {
      // A re-pricing correction's cost is a signed delta (docs/repricing.md): a negative one is charged too.
      if (record.cost_nano === 0) continue;
      try {
        await charge(record);
      } catch (err) {
        // The record is queued for ClickHouse regardless; the next rebuild of the period counts it.
        deps.log.error({ err, requestId: record.request_id }, 'ingested record could not be charged to budgets');
      }
    }
  };
}
