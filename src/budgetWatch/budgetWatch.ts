// Every team and key that has a max budget, with its current period, its spend and (when asked) its
// forecast — read on a timer, never per call: by the budget gauges (/metrics) and the budget alerts
// (thresholds, forecast). Spend is the ledger's counter of the current period when loaded (what admissions
// see), else ClickHouse's sum (what the counter would be rebuilt from). Forecast histories come from two
// grouped queries (all keys by day, all teams by day), not one query per scope.
import { type BudgetLedger, ledgerKeys } from '../budgets/ledger.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { ControlPlane } from '../management/control.js';
import { effectiveLimits, type LimitsDoc } from '../management/limits.js';
import { type Period, periodFor } from '../periods.js';
import type { BudgetForecast } from '../query/forecast/budgetForecast.js';
import { type DaySpend, dailySpend, forecastFromDays } from '../query/forecast/scopeForecast.js';
import type { SpendFilter } from '../query/spendTotal.js';

/** Ids per daily-spend question (`/spend/query` filters take at most 1,000 values). */
const MAX_FILTER_VALUES = 1000;

/** Bound on scopes per pass: past it, scopes after the first N (by id) are not watched. */
export const MAX_WATCHED_SCOPES = 2000;

export interface BudgetedScope {
  type: 'team' | 'key';
  /** Ledger scope id (`team:<id>`, `key:<key_id>`), as the budget guard names it. */
  id: string;
  label: string;
  limits: LimitsDoc;
  spend: SpendFilter;
}

export interface BudgetStatus {
  scope: BudgetedScope;
  maxNano: number;
  spentNano: number;
  period: Period;
  forecast: BudgetForecast | null;
}

export interface BudgetWatch {
  statuses(opts: { forecast: boolean }): Promise<BudgetStatus[]>;
}

export function createBudgetWatch(
  plane: ControlPlane,
  ledger: BudgetLedger,
  warehouse: Warehouse,
  opts: { idsPerQuery?: number } = {},
): BudgetWatch {
  const idsPerQuery = opts.idsPerQuery ?? MAX_FILTER_VALUES;
  async function budgetedScopes(): Promise<BudgetedScope[]> {
    const [teams, keys] = await Promise.all([plane.store.list('team', {}), plane.store.list('key', {})]);
    const tierOf = async (limits: LimitsDoc) =>
      effectiveLimits(limits, limits.budget_id ? await plane.cache.get('budget', limits.budget_id) : null);
    const scopes: BudgetedScope[] = [];
    for (const team of teams.docs) {
      scopes.push({
        type: 'team',
        id: `team:${team.team_id}`,
        label: team.team_alias ?? team.team_id,
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
    return scopes.filter((s) => s.limits.max_budget_nano != null).slice(0, MAX_WATCHED_SCOPES);
  }

  async function spendOf(scope: BudgetedScope, period: Period): Promise<number> {
    const counter = await ledger.read(ledgerKeys.scope(scope.id, period));
    return counter.loaded ? counter.spent : plane.spendNano(scope.spend, scope.limits.budget_duration);
  }

  /** Daily spend (the forecast window) of every key hash and every team among `scopes`. */
  async function dailySpendOf(scopes: BudgetedScope[], nowMs: number) {
    const ask = async (dimension: 'key' | 'team', ids: string[]) => {
      const byId = new Map<string, DaySpend>();
      // A filter takes at most MAX_FILTER_VALUES ids (the query API's bound): more scopes, more questions.
      for (let at = 0; at < ids.length; at += idsPerQuery) {
        const filters = { [dimension]: { in: ids.slice(at, at + idsPerQuery) } };
        for (const [id, days] of await dailySpend(warehouse, filters, plane.timeZone, nowMs, dimension)) {
          byId.set(id, days);
        }
      }
      return byId;
    };
    const keyHashes = scopes.flatMap((s) => s.spend.key_hashes ?? []);
    const teamIds = scopes.flatMap((s) => (s.spend.team_id === undefined ? [] : [s.spend.team_id]));
    const [keys, teams] = await Promise.all([ask('key', keyHashes), ask('team', teamIds)]);
    return { keys, teams };
  }

  return {
    async statuses({ forecast }) {
      const nowMs = plane.now().getTime();
      const scopes = await budgetedScopes();
      const periods = scopes.map((s) => periodFor(s.limits.budget_duration, new Date(nowMs), plane.timeZone));
      const spent = await Promise.all(scopes.map((s, i) => spendOf(s, periods[i] as Period)));
      const daily = forecast ? await dailySpendOf(scopes, nowMs) : null;
      return scopes.map((scope, i) => {
        const period = periods[i] as Period;
        const maxNano = scope.limits.max_budget_nano ?? 0;
        const spentNano = spent[i] ?? 0;
        let projection: BudgetForecast | null = null;
        if (daily) {
          // A key's days summed over its hashes (a regenerated key keeps its old hashes' spend).
          const days: DaySpend = new Map();
          const sources =
            scope.type === 'key'
              ? (scope.spend.key_hashes ?? []).map((h) => daily.keys.get(h))
              : [daily.teams.get(scope.spend.team_id ?? '')];
          for (const source of sources)
            for (const [day, cost] of source ?? []) days.set(day, (days.get(day) ?? 0) + cost);
          projection = forecastFromDays(days, { spentNano, maxNano, period }, plane.timeZone, nowMs);
        }
        return { scope, maxNano, spentNano, period, forecast: projection };
      });
    },
  };
}
