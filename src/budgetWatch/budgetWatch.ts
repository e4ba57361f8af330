// Every budgeted scope — team, user, customer, tag and key with a max budget (its own or its budget tier's) —
// with its current period, its spend and (when asked) its forecast: read on a timer, never per call, by the
// budget gauges (/metrics) and the budget alerts (thresholds, forecast). Spend is the ledger's counter of the
// current period when loaded (what admissions see), else ClickHouse's sum (what the counter would be rebuilt
// from). Forecast histories come from one grouped query per scope kind (all keys by day, all teams by day, …),
// not one query per scope.
import { type BudgetLedger, ledgerKeys } from '../budgets/ledger.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { ControlPlane } from '../management/control.js';
import type { LimitsDoc } from '../management/limits.js';
import { type Period, periodFor } from '../periods.js';
import type { BudgetForecast } from '../query/forecast/budgetForecast.js';
import { type DailySpendGroup, type DaySpend, dailySpend, forecastFromDays } from '../query/forecast/scopeForecast.js';
import type { SpendFilter } from '../query/spendTotal.js';

/** Ids per daily-spend question (`/spend/query` filters take at most 1,000 values). */
const MAX_FILTER_VALUES = 1000;

/**
 * Bound on scopes per pass (each costs a ledger read, and a ClickHouse sum when its counter is not loaded):
 * past it, the scopes after the first N are not watched — in the order of BUDGET_SCOPE_TYPES, by id within
 * a kind — and each pass reports how many were left out (`onSkipped`: the plugin logs a warning).
 */
export const MAX_WATCHED_SCOPES = 2000;

/** Every kind of scope that carries a budget, broadest first (the order scopes are kept in under the bound). */
export const BUDGET_SCOPE_TYPES = ['team', 'user', 'customer', 'tag', 'key'] as const;
export type BudgetScopeType = (typeof BUDGET_SCOPE_TYPES)[number];

export interface BudgetedScope {
  type: BudgetScopeType;
  /** Ledger scope id (`team:<id>`, `key:<key_id>`, `user:<id>`, `customer:<id>`, `tag:<name>`), as the budget guard names it. */
  id: string;
  label: string;
  limits: LimitsDoc;
  spend: SpendFilter;
  /** The daily rollup's dimension and values whose days add up to this scope's (a key: all its hashes). */
  days: { dimension: DailySpendGroup; values: string[] };
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

export interface BudgetWatchOptions {
  idsPerQuery?: number;
  maxScopes?: number;
  /** Called on a pass that left budgeted scopes out (more than `maxScopes`). */
  onSkipped?: (skipped: number, watched: number) => void;
}

export function createBudgetWatch(
  plane: ControlPlane,
  ledger: BudgetLedger,
  warehouse: Warehouse,
  opts: BudgetWatchOptions = {},
): BudgetWatch {
  const idsPerQuery = opts.idsPerQuery ?? MAX_FILTER_VALUES;
  const maxScopes = opts.maxScopes ?? MAX_WATCHED_SCOPES;
  async function budgetedScopes(): Promise<BudgetedScope[]> {
    const [teams, users, customers, tags, keys] = await Promise.all([
      plane.store.list('team', {}),
      plane.store.list('user', {}),
      plane.store.list('customer', {}),
      plane.store.list('tag', {}),
      plane.store.list('key', {}),
    ]);
    const scopes: BudgetedScope[] = [];
    const add = async (
      type: BudgetScopeType,
      id: string,
      label: string,
      own: LimitsDoc,
      spend: SpendFilter,
      days: BudgetedScope['days'],
    ) => {
      // Unbudgeted records (most users, most tags) need no tier lookup.
      if (own.max_budget_nano == null && own.budget_id == null) return;
      const limits = await plane.limitsOf(own);
      if (limits.max_budget_nano != null) scopes.push({ type, id: `${type}:${id}`, label, limits, spend, days });
    };
    for (const t of teams.docs)
      await add('team', t.team_id, t.team_alias ?? t.team_id, t, { team_id: t.team_id }, one('team', t.team_id));
    for (const u of users.docs) {
      const label = u.user_email ?? u.user_alias ?? u.user_id;
      await add('user', u.user_id, label, u, { user_id: u.user_id }, one('user', u.user_id));
    }
    for (const c of customers.docs) {
      const label = c.alias ?? c.user_id;
      await add('customer', c.user_id, label, c, { customer_id: c.user_id }, one('customer', c.user_id));
    }
    for (const tag of tags.docs) await add('tag', tag.name, tag.name, tag, { tag: tag.name }, one('tag', tag.name));
    for (const k of keys.docs) {
      const hashes = [k.token, ...k.previous_tokens];
      await add(
        'key',
        k.key_id,
        k.key_alias ?? k.key_id,
        k,
        { key_hashes: hashes },
        { dimension: 'key', values: hashes },
      );
    }
    if (scopes.length > maxScopes) opts.onSkipped?.(scopes.length - maxScopes, maxScopes);
    return scopes.slice(0, maxScopes);
  }

  async function spendOf(scope: BudgetedScope, period: Period): Promise<number> {
    const counter = await ledger.read(ledgerKeys.scope(scope.id, period));
    return counter.loaded ? counter.spent : plane.spendNano(scope.spend, scope.limits.budget_duration);
  }

  /** Daily spend (the forecast window) of every value the scopes' series name, by dimension then value. */
  async function dailySpendOf(scopes: BudgetedScope[], nowMs: number) {
    const wanted = new Map<DailySpendGroup, Set<string>>();
    for (const { days } of scopes) {
      const set = wanted.get(days.dimension) ?? new Set<string>();
      for (const value of days.values) set.add(value);
      wanted.set(days.dimension, set);
    }
    const ask = async (dimension: DailySpendGroup, ids: string[]) => {
      const byId = new Map<string, DaySpend>();
      // A filter takes at most MAX_FILTER_VALUES ids (the query API's bound): more scopes, more questions.
      for (let at = 0; at < ids.length; at += idsPerQuery) {
        const filters = { [dimension]: { in: ids.slice(at, at + idsPerQuery) } };
        for (const [id, days] of await dailySpend(warehouse, filters, plane.timeZone, nowMs, dimension)) {
          byId.set(id, days);
        }
      }
      return [dimension, byId] as const;
    };
    return new Map(await Promise.all([...wanted].map(([dimension, ids]) => ask(dimension, [...ids]))));
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
          const series = daily.get(scope.days.dimension);
          for (const value of scope.days.values)
            for (const [day, cost] of series?.get(value) ?? []) days.set(day, (days.get(day) ?? 0) + cost);
          projection = forecastFromDays(days, { spentNano, maxNano, period }, plane.timeZone, nowMs);
        }
        return { scope, maxNano, spentNano, period, forecast: projection };
      });
    },
  };
}

const one = (dimension: DailySpendGroup, value: string): BudgetedScope['days'] => ({ dimension, values: [value] });
