// The budget ledger in Redis: key layout plus typed calls of the Lua scripts in lua.ts.
// Every key starts with the hash tag `{budget}` so a call's keys (all its scopes, its reservation, the
// sweep index) share one Redis Cluster slot. A scope's counter key contains its period start, so a new
// period is a new key that starts at 0 — resets need no job.
import type { Redis } from 'ioredis';
import type { Period } from '../periods.js';
import { ADMIT_CALL, LOAD_SCOPE, SETTLE_CALL } from './lua.js';
import type { BudgetScope } from './scopes.js';

const TAG = '{budget}';
const RATE_WINDOW_MS = 60_000;
/** How long a settled marker remembers a request id (settlement is idempotent within this window). */
const SETTLED_MARKER_SECONDS = 86_400;
/** Counters outlive their period by a day: enough for late settlements and for reading the last period. */
const COUNTER_SLACK_SECONDS = 86_400;

/** Scope ids carry user-chosen text (tags, ids); escaped, they cannot hold the separators the scripts use. */
const safe = (scopeId: string) => encodeURIComponent(scopeId);

export const ledgerKeys = {
  index: `${TAG}:reservations`,
  generation: `${TAG}:generation`,
  reservation: (requestId: string) => `${TAG}:reservation:${requestId}`,
  settled: (requestId: string) => `${TAG}:settled:${requestId}`,
  scope: (scopeId: string, period: Period) =>
    `${TAG}:spend:${safe(scopeId)}:${Math.floor(period.start.getTime() / 1000)}`,
  rpm: (scopeId: string, windowStart: number) => `${TAG}:rpm:${safe(scopeId)}:${windowStart / 1000}`,
  tpm: (scopeId: string, windowStart: number) => `${TAG}:tpm:${safe(scopeId)}:${windowStart / 1000}`,
  parallel: (scopeId: string) => `${TAG}:parallel:${safe(scopeId)}`,
};

/** Seconds a period's counter should live from `nowMs` (0 = forever, for lifetime budgets). */
export function counterTtl(period: Period, nowMs: number): number {
  if (!period.end) return 0;
  return Math.max(1, Math.ceil((period.end.getTime() - nowMs) / 1000)) + COUNTER_SLACK_SECONDS;
}

export function rateWindow(nowMs: number): { start: number; end: number } {
  const start = Math.floor(nowMs / RATE_WINDOW_MS) * RATE_WINDOW_MS;
  return { start, end: start + RATE_WINDOW_MS };
}

export interface LedgerBudget {
  key: string;
  maxNano: number | null;
  softNano: number | null;
  period: Period;
}

export interface LedgerRate {
  scopeId: string;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
}

export interface AdmitRequest {
  requestId: string;
  nowMs: number;
  amountNano: number;
  promptTokens: number;
  reservationTtlMs: number;
  budgets: LedgerBudget[];
  rates: LedgerRate[];
}

export type AdmitResult =
  | { ok: true; rpmUsed: number[]; tpmUsed: number[]; windowEnd: number }
  | { ok: false; reason: 'load'; indices: number[] }
  | { ok: false; reason: 'budget'; index: number; spent: number; reserved: number }
  | { ok: false; reason: 'rpm' | 'tpm' | 'parallel'; index: number; used: number; windowEnd: number };

type Arg = string | number;
interface LedgerCommands {
  budgetAdmit(numKeys: number, ...args: Arg[]): Promise<Arg[]>;
  budgetSettle(numKeys: number, ...args: Arg[]): Promise<Arg[]>;
  budgetLoad(numKeys: number, ...args: Arg[]): Promise<number>;
}

/** The ledger's view of resolved budget scopes: one counter hash per scope and period. */
export function ledgerBudgets(scopes: readonly BudgetScope[]): LedgerBudget[] {
  return scopes.map((s) => ({
    key: ledgerKeys.scope(s.id, s.period),
    maxNano: s.maxNano,
    softNano: s.softNano,
    period: s.period,
  }));
}

const limitArg = (n: number | null) => (n == null ? -1 : n);

export class BudgetLedger {
  private readonly redis: Redis & LedgerCommands;

  constructor(redis: Redis) {
    if (!('budgetAdmit' in redis)) {
      redis.defineCommand('budgetAdmit', { lua: ADMIT_CALL });
      redis.defineCommand('budgetSettle', { lua: SETTLE_CALL });
      redis.defineCommand('budgetLoad', { lua: LOAD_SCOPE });
    }
    this.redis = redis as Redis & LedgerCommands;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const window = rateWindow(req.nowMs);
    const keys = [ledgerKeys.index, ledgerKeys.reservation(req.requestId), ...req.budgets.map((b) => b.key)];
    const args: Arg[] = [
      req.nowMs,
      String(req.amountNano),
      req.reservationTtlMs,
      req.requestId,
      req.budgets.length,
      req.rates.length,
      String(req.promptTokens),
    ];
    for (const b of req.budgets) args.push(limitArg(b.maxNano), counterTtl(b.period, req.nowMs));
    for (const r of req.rates) {
      keys.push(
        ledgerKeys.rpm(r.scopeId, window.start),
        ledgerKeys.tpm(r.scopeId, window.start),
        ledgerKeys.parallel(r.scopeId),
      );
      args.push(
        limitArg(r.rpm),
        limitArg(r.tpm),
        limitArg(r.parallel),
        Math.ceil((window.end - req.nowMs) / 1000) + 60,
      );
    }
    const reply = await this.redis.budgetAdmit(keys.length, ...keys, ...args);
    const nums = reply.map(Number);
    if (nums[0] === 1) {
      const used = nums.slice(1);
      return {
        ok: true,
        rpmUsed: used.filter((_, i) => i % 2 === 0),
        tpmUsed: used.filter((_, i) => i % 2 === 1),
        windowEnd: window.end,
      };
    }
    const reason = String(reply[1]);
    if (reason === 'load') return { ok: false, reason, indices: nums.slice(2).map((i) => i - 1) };
    if (reason === 'budget')
      return { ok: false, reason, index: (nums[2] ?? 1) - 1, spent: nums[3] ?? 0, reserved: nums[4] ?? 0 };
    if (reason === 'rpm' || reason === 'tpm' || reason === 'parallel') {
      return { ok: false, reason, index: (nums[2] ?? 1) - 1, used: nums[3] ?? 0, windowEnd: window.end };
    }
    throw new Error(`unexpected budget admit reply ${JSON.stringify(reply)}`);
  }

  /** Adds the spend ClickHouse has for a scope's period and marks it loaded (first loader wins). */
  async load(key: string, spendNano: number, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.budgetLoad(2, key, ledgerKeys.generation, String(spendNano), ttlSeconds)) === 1;
  }

  /** Returns the indices of budgets whose soft budget was crossed by this settlement, or null if already settled. */
  async settle(req: {
    requestId: string;
    nowMs: number;
    costNano: number;
    /**
     * Tokens to add to the tpm windows now (may be negative: the admission's prompt bound corrected to the
     * real prompt count, in the same window). A window never goes below 0.
     */
    tokens: number;
    budgets: LedgerBudget[];
    rates: LedgerRate[];
  }): Promise<number[] | null> {
    const window = rateWindow(req.nowMs);
    const keys = [
      ledgerKeys.index,
      ledgerKeys.reservation(req.requestId),
      ledgerKeys.settled(req.requestId),
      ...req.budgets.map((b) => b.key),
    ];
    const args: Arg[] = [
      String(req.costNano),
      req.budgets.length,
      req.rates.length,
      String(Math.trunc(req.tokens)),
      req.requestId,
      SETTLED_MARKER_SECONDS,
    ];
    for (const b of req.budgets) args.push(limitArg(b.softNano), counterTtl(b.period, req.nowMs));
    for (const r of req.rates) keys.push(ledgerKeys.tpm(r.scopeId, window.start), ledgerKeys.parallel(r.scopeId));
    const reply = (await this.redis.budgetSettle(keys.length, ...keys, ...args)).map(Number);
    if (reply[0] !== 1) return null;
    return reply.slice(1).map((i) => i - 1);
  }

  /** Current counters of a scope period (for /…/info and tests). */
  async read(key: string): Promise<{ spent: number; reserved: number; loaded: boolean }> {
    const [spent, reserved, loaded] = await this.redis.hmget(key, 'spent', 'reserved', 'loaded');
    return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0), loaded: loaded === '1' };
  }
}
