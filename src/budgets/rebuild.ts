// Counters of a scope's current period are rebuilt from ClickHouse before the ledger admits anything
// against it: the admit script answers "load" for a period without its `loaded` flag (a new period, or
// Redis lost its keys), and we add the warehouse's spend for that period once. Loads are shared per
// instance; across instances the first LOAD_SCOPE wins and the others are no-ops.
// Known edge: calls settled in Redis but not yet ingested when Redis is lost are missing from the rebuild
// (the ingest queue lives in the same Redis); calls settled after the loss are counted twice at worst.
import type { Warehouse } from '../clickhouse/warehouse.js';
import { scopeSpendNano } from '../query/spendTotal.js';
import type { AdmitRequest, AdmitResult, BudgetLedger } from './ledger.js';
import { counterTtl, ledgerKeys } from './ledger.js';
import type { BudgetScope } from './scopes.js';

/** ADMIT_CALL asking for counters again right after they were loaded means they keep vanishing: give up. */
const LOAD_ATTEMPTS = 3;

export class CounterRebuilder {
  private inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly warehouse: Warehouse,
    private readonly ledger: BudgetLedger,
  ) {}

  /**
   * ADMIT_CALL for `request`, whose budgets are `scopes`' (same order): the counters it answers "load" for
   * are rebuilt and the admit is tried again, at most LOAD_ATTEMPTS times in all.
   */
  async admit(
    request: AdmitRequest,
    scopes: readonly BudgetScope[],
  ): Promise<Exclude<AdmitResult, { reason: 'load' }>> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.ledger.admit(request);
      if (result.ok || result.reason !== 'load') return result;
      if (attempt >= LOAD_ATTEMPTS) throw new Error('budget counters could not be loaded');
      await Promise.all(result.indices.map((i) => (scopes[i] ? this.load(scopes[i], request.nowMs) : null)));
    }
  }

  load(scope: BudgetScope, nowMs: number): Promise<void> {
    const key = ledgerKeys.scope(scope.id, scope.period);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.rebuild(scope, key, nowMs).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async rebuild(scope: BudgetScope, key: string, nowMs: number): Promise<void> {
    const spend = await scopeSpendNano(this.warehouse, scope.spend, scope.period);
    await this.ledger.load(key, spend, counterTtl(scope.period, nowMs));
  }
}
