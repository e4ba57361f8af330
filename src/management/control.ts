// The control plane as the management routes and the auth/budget paths see it: the store (fresh reads from
// ClickHouse, used by management endpoints), the cache (hot path) and writes that invalidate the cache on
// every instance. Alias uniqueness is enforced under a short Redis lock so two concurrent creates cannot
// both pass the check.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { periodFor } from '../periods.js';
import type { BudgetForecast } from '../query/forecast/budgetForecast.js';
import { scopeForecast } from '../query/forecast/scopeForecast.js';
import { type SpendFilter, scopeSpendNano } from '../query/spendTotal.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlCache } from './cache.js';
import { type DocOf, type IndexColumns, KINDS, type Kind, memberId } from './entities.js';
import { effectiveLimits, type LimitsDoc, nanoToUsdNumber } from './limits.js';
import type { ControlStore } from './store.js';

const LOCK_MS = 10_000;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export class ControlPlane {
  constructor(
    readonly store: ControlStore,
    readonly cache: ControlCache,
    private readonly redis: Redis,
    readonly now: () => Date,
    readonly timeZone: string,
  ) {}

  /** The limits the budget guard applies to a record: its own, filled in from its budget tier (`budget_id`). */
  async limitsOf(own: LimitsDoc): Promise<LimitsDoc> {
    return effectiveLimits(own, own.budget_id ? await this.cache.get('budget', own.budget_id) : null);
  }

  /** Spend of a scope in its current budget period (lifetime when it has no budget_duration). */
  spendNano(filter: SpendFilter, budgetDuration: string | null): Promise<number> {
    return scopeSpendNano(this.store.warehouse, filter, periodFor(budgetDuration, this.now(), this.timeZone));
  }

  /** `spend` (USD, current period) and `budget_reset_at` as LiteLLM's info and list responses show them. */
  async spendToApi(filter: SpendFilter, budgetDuration: string | null) {
    return {
      spend: nanoToUsdNumber(await this.spendNano(filter, budgetDuration)),
      budget_reset_at: this.resetAt(budgetDuration),
    };
  }

  /**
   * Where a scope's budget is heading (docs/finops.md, Forecasts), in the management API's USD numbers:
   * projected spend at the period's end and when it reaches `maxNano` (null: not this period, or no budget).
   */
  async forecastToApi(filter: SpendFilter, budgetDuration: string | null, maxNano: number | null, spentNano: number) {
    const now = this.now();
    const period = periodFor(budgetDuration, now, this.timeZone);
    const forecast: BudgetForecast = await scopeForecast(
      this.store.warehouse,
      { spend: filter, maxNano, period, spentNano },
      this.timeZone,
      now.getTime(),
    );
    return {
      method: forecast.method,
      daily_spend: nanoToUsdNumber(forecast.daily_rate_nano),
      projected_period_spend:
        forecast.period_end_spend_nano === null ? null : nanoToUsdNumber(forecast.period_end_spend_nano),
      runs_out_at: forecast.runs_out_at,
      exceeds_budget: forecast.exceeds_budget,
    };
  }

  /** LiteLLM's budget_reset_at: the end of the current period. */
  resetAt(budgetDuration: string | null): string | null {
    const end = periodFor(budgetDuration, this.now(), this.timeZone).end;
    return end ? end.toISOString() : null;
  }

  async write<K extends Kind>(
    kind: K,
    change: { put?: readonly DocOf<K>[]; remove?: readonly string[] },
  ): Promise<void> {
    await this.store.write(kind, change);
    await this.cache.invalidate();
  }

  /** Deletes teams or users with everything they own: their keys (rotated ones too) and memberships. */
  async removeOwned(kind: 'team' | 'user', ids: readonly string[]): Promise<void> {
    const field = kind === 'team' ? 'team_id' : 'user_id';
    const tokens: string[] = [];
    const members: string[] = [];
    for (const id of ids) {
      const [keys, memberships] = await Promise.all([
        this.store.list('key', { [field]: id, includeUnlisted: true }),
        this.store.list('member', { [field]: id }),
      ]);
      tokens.push(...keys.docs.map((k) => k.token));
      members.push(...memberships.docs.map((m) => memberId(m.team_id, m.user_id)));
    }
    if (tokens.length) await this.write('key', { remove: tokens });
    if (members.length) await this.write('member', { remove: members });
    await this.write(kind, { remove: ids });
  }

  /** Fails with 404 naming `param` when the id does not exist. */
  async require<K extends Kind>(kind: K, id: string, param: string): Promise<DocOf<K>> {
    const doc = await this.store.get(kind, id);
    if (!doc) throw new AppError('not_found', `${param}: ${kind} ${quoted(id)} not found`, { param });
    return doc;
  }

  /** 400 (not 404) for references inside a body: the request is malformed, e.g. an unknown team_id. */
  async requireReference<K extends Kind>(kind: K, id: string, param: string): Promise<DocOf<K>> {
    const doc = await this.store.get(kind, id);
    if (!doc) throw new AppError('bad_request', `${param}: unknown ${kind} ${quoted(id)}`, { param });
    return doc;
  }

  /** 409 when another live row of `kind` already has `alias` (the alias column of its table). */
  async assertFree(kind: Kind, alias: string, param: string, exceptId?: string): Promise<void> {
    const { docs } = await this.store.list(kind, { alias });
    const columnsOf = KINDS[kind].columns as (d: unknown) => IndexColumns;
    if (docs.some((d) => columnsOf(d).id !== exceptId)) {
      throw new AppError('conflict', `${param}: ${quoted(alias)} is already in use`, { param });
    }
  }

  /** Runs `fn` holding locks on the given names (alias claims), so check-then-insert is atomic across instances. */
  async withLocks<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const held: string[] = [];
    try {
      for (const name of [...new Set(names)].sort()) {
        const key = `control:lock:${name}`;
        if ((await this.redis.set(key, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
          throw new AppError('conflict', `${name} is being changed by another request; retry`);
        }
        held.push(key);
      }
      return await fn();
    } finally {
      for (const key of held) await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
