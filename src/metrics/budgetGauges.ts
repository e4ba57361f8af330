// Budget remaining and utilisation of every team and key that has a max budget, refreshed on a timer (never
// per request, never per scrape). Spend comes from the ledger counter of the current period when it is
// loaded (what admissions see), else from ClickHouse (what the counter would be rebuilt from). The
// series are replaced wholesale each refresh so a deleted team's gauges disappear.
import { Gauge, type Metric } from 'prom-client';
import { type BudgetLedger, ledgerKeys } from '../budgets/ledger.js';
import type { ControlPlane } from '../management/control.js';
import { effectiveLimits, type LimitsDoc } from '../management/limits.js';
import { periodFor } from '../periods.js';
import type { SpendFilter } from '../query/spendTotal.js';

/** Bound on series per refresh: past it, scopes after the first N (by id) get no gauges. */
export const MAX_BUDGET_SERIES = 2000;

interface BudgetedScope {
  type: 'team' | 'key';
  /** Ledger scope id (`team:<id>`, `key:<key_id>`), as the budget guard names it. */
  id: string;
  label: string;
  limits: LimitsDoc;
  spend: SpendFilter;
}

export interface BudgetGauges {
  metrics: Metric[];
  refresh(): Promise<number>;
}

export function createBudgetGauges(plane: ControlPlane, ledger: BudgetLedger): BudgetGauges {
  const labelNames = ['scope_type', 'scope'] as const;
  // `first`: under `serve --workers N` one process refreshes (plugin.ts); the others hold no series.
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames, registers: [], aggregator: 'first' });
  const max = gauge('spendhouse_budget_max_nano', 'Max budget of the current period in nano-USD (teams, keys)');
  const spent = gauge('spendhouse_budget_spend_nano', 'Spend of the current budget period in nano-USD');
  const remaining = gauge('spendhouse_budget_remaining_nano', 'Max budget minus spend, in nano-USD (0 when over)');
  const utilisation = gauge('spendhouse_budget_utilisation_ratio', 'Spend / max budget of the current period');

  async function budgetedScopes(): Promise<BudgetedScope[]> {
    const [teams, keys] = await Promise.all([plane.store.list('team', {}), plane.store.list('key', {})]);
    const tierOf = async (limits: LimitsDoc) =>
      effectiveLimits(limits, limits.budget_id ? await plane.cache.get('budget', limits.budget_id) : null);
    const scopes: BudgetedScope[] = [];
    for (const team of teams.docs) {
      const label = team.team_alias ?? team.team_id;
      scopes.push({
        type: 'team',
        id: `team:${team.team_id}`,
        label,
        limits: await tierOf(team),
        spend: { team_id: team.team_id },
      });
    }
    for (const key of keys.docs) {
      scopes.push({
        type: 'key',
        id: `key:${key.key_id}`,
        label: key.key_alias ?? key.key_id,
        limits: await tierOf(key),
        spend: { key_hashes: [key.token, ...key.previous_tokens] },
      });
    }
    return scopes.filter((s) => s.limits.max_budget_nano != null).slice(0, MAX_BUDGET_SERIES);
  }

  async function spendOf(scope: BudgetedScope): Promise<number> {
    const period = periodFor(scope.limits.budget_duration, plane.now(), plane.timeZone);
    const counter = await ledger.read(ledgerKeys.scope(scope.id, period));
    return counter.loaded ? counter.spent : plane.spendNano(scope.spend, scope.limits.budget_duration);
  }

  return {
    metrics: [max, spent, remaining, utilisation],
    async refresh() {
      const scopes = await budgetedScopes();
      const values = await Promise.all(scopes.map(spendOf));
      for (const g of [max, spent, remaining, utilisation]) g.reset();
      scopes.forEach((scope, i) => {
        const labels = { scope_type: scope.type, scope: scope.label };
        const maxNano = scope.limits.max_budget_nano ?? 0;
        const spendNano = values[i] ?? 0;
        max.set(labels, maxNano);
        spent.set(labels, spendNano);
        remaining.set(labels, Math.max(0, maxNano - spendNano));
        utilisation.set(labels, maxNano > 0 ? spendNano / maxNano : 0);
      });
      return scopes.length;
    },
  };
}
