// Dashboard login throttling in Redis, shared by every process of a deployment. Two counters gate each
// attempt, both checked and charged in one Lua call *before* the password is compared, so parallel guesses
// cannot slip past a limit (20 at once from one address get at most `ipLimit` checks):
//   - per client address (an IPv6 /64 counts as one address), across every username: `ipLimit` attempts that
//     did not succeed per `ipWindowMs`, then 429 until the window ends. The strong limit: it stops one machine
//     from guessing, whatever names it tries.
//   - per account (the username as typed; '' for a key pasted as the password), across addresses: after
//     `accountFreeFailures`, each further attempt waits an exponential backoff (base·2^n, at most
//     `accountMaxBackoffMs`). Short on purpose: it slows a guesser spread over many addresses without
//     locking the real user out — they wait seconds, not minutes, and one address's failures stay below it.
// An admitted attempt is charged as a failure up front; a success gives the address its attempt back and
// clears the account. A crash between the two leaves it charged (fails closed).
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Redis } from 'ioredis';

/**
 * ADMIT_LOGIN — may this attempt be checked? Charges it to both counters when it may.
 * KEYS: [1] address hash {count, until}, [2] account hash {fails, next, last}.
 * ARGV: [1] now ms, [2] ip limit, [3] ip window ms, [4] account free failures, [5] backoff base ms,
 *       [6] backoff cap ms, [7] account quiet ms (failures older than this are forgotten).
 * Returns {1, 0, ''} admitted | {0, wait ms, 'ip' | 'account'} refused.
 * Times come from the caller's clock (an injected test clock works); key TTLs only clean up.
 */
const ADMIT_LOGIN = `
local now = tonumber(ARGV[1])
local ipLimit = tonumber(ARGV[2])
local ipWindow = tonumber(ARGV[3])
local free = tonumber(ARGV[4])
local base = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local quiet = tonumber(ARGV[7])
local function int(n) return string.format('%.0f', n) end

local ip = redis.call('HMGET', KEYS[1], 'count', 'until')
local ipCount = tonumber(ip[1]) or 0
local ipUntil = tonumber(ip[2]) or 0
if ipUntil <= now then
  ipCount = 0
  ipUntil = now + ipWindow
end
if ipCount >= ipLimit then return {0, ipUntil - now, 'ip'} end

local acct = redis.call('HMGET', KEYS[2], 'fails', 'next', 'last')
local fails = tonumber(acct[1]) or 0
local nextAt = tonumber(acct[2]) or 0
if now - (tonumber(acct[3]) or 0) > quiet then
  fails = 0
  nextAt = 0
end
if nextAt > now then return {0, nextAt - now, 'account'} end

redis.call('HSET', KEYS[1], 'count', ipCount + 1, 'until', int(ipUntil))
redis.call('PEXPIRE', KEYS[1], int(ipUntil - now))
fails = fails + 1
if fails > free then nextAt = now + math.min(base * 2 ^ (fails - free - 1), cap) end
redis.call('HSET', KEYS[2], 'fails', fails, 'next', int(nextAt), 'last', int(now))
redis.call('PEXPIRE', KEYS[2], int(quiet + cap))
return {1, 0, ''}
`;

/**
 * LOGIN_SUCCEEDED — the attempt admitted by ADMIT_LOGIN was right: give the address its attempt back (its
 * other failures stay counted, so logging in with one's own key does not reset a guesser's budget) and clear
 * the account's failures. KEYS as ADMIT_LOGIN.
 */
const LOGIN_SUCCEEDED = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then redis.call('HINCRBY', KEYS[1], 'count', -1) end
redis.call('DEL', KEYS[2])
return 1
`;

interface ThrottleCommands {
  loginAdmit(numKeys: number, ...args: (string | number)[]): Promise<[number, number, string]>;
  loginSucceeded(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

export interface LoginThrottleLimits {
  ipLimit: number;
  ipWindowMs: number;
  accountFreeFailures: number;
  accountBackoffBaseMs: number;
  accountMaxBackoffMs: number;
  /** An account's failures are forgotten after this long without one. */
  accountQuietMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginThrottleLimits = {
  ipLimit: 10,
  ipWindowMs: 15 * 60_000,
  accountFreeFailures: 10,
  accountBackoffBaseMs: 1000,
  accountMaxBackoffMs: 30_000,
  accountQuietMs: 15 * 60_000,
};

export type LoginAdmission = { admitted: true } | { admitted: false; retryAfterMs: number; by: 'ip' | 'account' };

/**
 * The address a throttle counts: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 — one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give a guesser 2^64 budgets.
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const groups = (part: string | undefined) =>
    (part ? part.split(':') : []).flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const front = groups(head);
  const back = groups(tail);
  const all =
    tail === undefined
      ? front
      : [...front, ...Array.from({ length: 8 - front.length - back.length }, () => '0'), ...back];
  return `${all
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

export class LoginThrottle {
  private readonly redis: Redis & ThrottleCommands;

  constructor(
    redis: Redis,
    readonly limits: LoginThrottleLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    if (!('loginAdmit' in redis)) {
      redis.defineCommand('loginAdmit', { lua: ADMIT_LOGIN });
      redis.defineCommand('loginSucceeded', { lua: LOGIN_SUCCEEDED });
    }
    this.redis = redis as Redis & ThrottleCommands;
  }

  private keys(account: string, ip: string): [string, string] {
    return [`ui:login:ip:${digest(addressBucket(ip))}`, `ui:login:account:${digest(account)}`];
  }

  /** Call before checking a password; an admitted attempt counts as failed until `succeeded` is called. */
  async admit(account: string, ip: string): Promise<LoginAdmission> {
    const l = this.limits;
    const [ok, waitMs, by] = await this.redis.loginAdmit(
      2,
      ...this.keys(account, ip),
      this.now(),
      l.ipLimit,
      l.ipWindowMs,
      l.accountFreeFailures,
      l.accountBackoffBaseMs,
      l.accountMaxBackoffMs,
      l.accountQuietMs,
    );
    if (ok === 1) return { admitted: true };
    return { admitted: false, retryAfterMs: Math.max(1, waitMs), by: by === 'account' ? 'account' : 'ip' };
  }

  async succeeded(account: string, ip: string): Promise<void> {
    await this.redis.loginSucceeded(2, ...this.keys(account, ip));
  }
}
