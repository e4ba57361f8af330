// Every team and key that has a max budget, with its current period, its spend and (when asked) its
// forecast — read on a timer, never per call: by the budget gauges (/metrics) and the budget alerts
// (thresholds, forecast). Spend is the ledger's counter of the current period when loaded (what admissions
// see), else ClickHouse's sum (what the counter would be rebuilt from). Forecast histories come from two
// grouped queries (all keys by day, all teams by day), not one query per scope.
import { z } from 'zod';
import { type BudgetLedger, ledgerKeys } from '../budgets/ledger.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { ControlPlane } from '../management/control.js';
import { effectiveLimits, type LimitsDoc } from '../management/limits.js';
import { type Period, periodFor } from '../periods.js';
import { runReport } from '../query/engine.js';
import {
  type BudgetForecast,
  type DailySpend,
  forecastBudget,
  historyWindow,
} from '../query/forecast/budgetForecast.js';
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

const dayRow = z.object({
  bucket: z.string(),
  key: z.string().nullable().optional(),
  team: z.string().nullable().optional(),
  cost_nano: z.union([z.number(), z.string()]),
});

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

  /** Daily spend (HISTORY_DAYS local days and today) of every key hash and every team among `scopes`. */
  async function dailySpend(scopes: BudgetedScope[], nowMs: number) {
    const { fromMs, today } = historyWindow(nowMs, plane.timeZone);
    const ask = async (dimension: 'key' | 'team', ids: string[]) => {
      const byId = new Map<string, Map<number, number>>();
      // A filter takes at most MAX_FILTER_VALUES ids (the query API's bound): more scopes, more questions.
      for (let at = 0; at < ids.length; at += idsPerQuery) {
        const result = await runReport(
          warehouse,
          {
            from: new Date(fromMs).toISOString(),
            to: today.end.toISOString(),
            timezone: plane.timeZone,
            granularity: 'day',
            group_by: [dimension],
            filters: { [dimension]: { in: ids.slice(at, at + idsPerQuery) } },
            metrics: ['cost'],
          },
          {},
        );
        for (const raw of result.rows) {
          const row = dayRow.parse(raw);
          const id = row[dimension] ?? '';
          const days = byId.get(id) ?? new Map<number, number>();
          days.set(Date.parse(row.bucket), Number(row.cost_nano));
          byId.set(id, days);
        }
      }
      return byId;
    };
    const keyHashes = scopes.flatMap((s) => s.spend.key_hashes ?? []);
    const teamIds = scopes.flatMap((s) => (s.spend.team_id === undefined ? [] : [s.spend.team_id]));
    const [keys, teams] = await Promise.all([ask('key', keyHashes), ask('team', teamIds)]);
    return { today, keys, teams };
  }

  return {
    async statuses({ forecast }) {
      const nowMs = plane.now().getTime();
      const scopes = await budgetedScopes();
      const periods = scopes.map((s) => periodFor(s.limits.budget_duration, new Date(nowMs), plane.timeZone));
      const spent = await Promise.all(scopes.map((s, i) => spendOf(s, periods[i] as Period)));
      const daily = forecast ? await dailySpend(scopes, nowMs) : null;
      return scopes.map((scope, i) => {
        const period = periods[i] as Period;
        const maxNano = scope.limits.max_budget_nano ?? 0;
        const spentNano = spent[i] ?? 0;
        let projection: BudgetForecast | null = null;
        if (daily) {
          // A key's days summed over its hashes (a regenerated key keeps its old hashes' spend).
          const days = new Map<number, number>();
          const sources =
            scope.type === 'key'
              ? (scope.spend.key_hashes ?? []).map((h) => daily.keys.get(h))
              : [daily.teams.get(scope.spend.team_id ?? '')];
          for (const source of sources)
            for (const [day, cost] of source ?? []) days.set(day, (days.get(day) ?? 0) + cost);
          const todayStart = daily.today.start.getTime();
          const history: DailySpend[] = [...days]
            .filter(([day]) => day < todayStart)
            .sort(([a], [b]) => a - b)
            .map(([dayStartMs, costNano]) => ({ dayStartMs, costNano }));
          projection = forecastBudget({
            spentNano,
            maxNano,
            period,
            nowMs,
            timeZone: plane.timeZone,
            history,
            todayNano: days.get(todayStart) ?? 0,
          });
        }
        return { scope, maxNano, spentNano, period, forecast: projection };
      });
    },
  };
}
