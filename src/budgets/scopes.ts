// Which budget and rate scopes a call is checked against: key, key-per-model, user, team, team member,
// customer and every tag that has a budget. Each scope carries its limits (own fields, filled in by a
// budget tier), its current period, a human label for refusals and the filter that rebuilds its spend.

import type { CallContext } from '../callGuards.js';
import { AppError } from '../errors.js';
import type { ControlCache } from '../management/cache.js';
import { type DocOf, memberId } from '../management/entities.js';
import type { LimitsDoc } from '../management/limits.js';
import { effectiveLimits } from '../management/limits.js';
import { type Period, periodFor } from '../periods.js';
import type { SpendFilter } from '../query/spendTotal.js';

export type ScopeKind = 'key' | 'key_model' | 'user' | 'team' | 'member' | 'customer' | 'tag';

export interface BudgetScope {
  kind: ScopeKind;
  /** Stable identity inside Redis keys, e.g. `team:<team_id>`. */
  id: string;
  label: string;
  maxNano: number | null;
  softNano: number | null;
  period: Period;
  spend: SpendFilter;
}

export interface RateScope {
  id: string;
  label: string;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
}

export interface CallScopes {
  budgets: BudgetScope[];
  rates: RateScope[];
}

interface Owner {
  kind: ScopeKind;
  id: string;
  label: string;
  limits: LimitsDoc;
  spend: SpendFilter;
  /** Period override (team members follow their team's duration). */
  duration?: string | null;
}

function blocked(what: string): AppError {
  return new AppError('forbidden', `${what} is blocked`, { type: 'forbidden' });
}

type LimitsOf = (limits: LimitsDoc) => Promise<LimitsDoc>;

/** The key, and the key for this model when its model_max_budget names it. */
async function keyOwners(key: DocOf<'key'>, model: string, limitsOf: LimitsOf): Promise<Owner[]> {
  const label = `key ${key.key_alias ?? key.key_name}`;
  const spend = { key_hashes: [key.token, ...key.previous_tokens] };
  const limits = await limitsOf(key);
  const owners: Owner[] = [{ kind: 'key', id: `key:${key.key_id}`, label, limits, spend }];
  const perModel = limits.model_max_budget[model];
  if (perModel) {
    owners.push({
      kind: 'key_model',
      id: `key_model:${key.key_id}:${model}`,
      label: `${label} for model ${model}`,
      limits: { ...limits, max_budget_nano: perModel.max_budget_nano, soft_budget_nano: null },
      spend: { ...spend, model },
      duration: perModel.budget_duration ?? limits.budget_duration,
    });
  }
  return owners;
}

async function userOwner(user: DocOf<'user'>, limitsOf: LimitsOf): Promise<Owner> {
  if (user.blocked) throw blocked(`user ${user.user_email ?? user.user_id}`);
  return {
    kind: 'user',
    id: `user:${user.user_id}`,
    label: `user ${user.user_email ?? user.user_alias ?? user.user_id}`,
    limits: await limitsOf(user),
    spend: { user_id: user.user_id },
  };
}

/** The team, and the calling user within it when the membership has max_budget_in_team. */
async function teamOwners(
  team: DocOf<'team'>,
  member: DocOf<'member'> | null,
  user: DocOf<'user'> | null,
  limitsOf: LimitsOf,
): Promise<Owner[]> {
  if (team.blocked) throw blocked(`team ${team.team_alias ?? team.team_id}`);
  const teamLabel = team.team_alias ?? team.team_id;
  const limits = await limitsOf(team);
  const owners: Owner[] = [
    { kind: 'team', id: `team:${team.team_id}`, label: `team ${teamLabel}`, limits, spend: { team_id: team.team_id } },
  ];
  if (member?.max_budget_in_team_nano != null) {
    owners.push({
      kind: 'member',
      id: `member:${team.team_id}:${member.user_id}`,
      label: `user ${user?.user_email ?? member.user_id} in team ${teamLabel}`,
      limits: {
        ...limits,
        max_budget_nano: member.max_budget_in_team_nano,
        soft_budget_nano: null,
        rpm_limit: null,
        tpm_limit: null,
        max_parallel_requests: null,
      },
      spend: { team_id: team.team_id, user_id: member.user_id },
      duration: limits.budget_duration,
    });
  }
  return owners;
}

async function customerOwner(customer: DocOf<'customer'>, limitsOf: LimitsOf): Promise<Owner> {
  if (customer.blocked) throw blocked(`customer ${customer.alias ?? customer.user_id}`);
  return {
    kind: 'customer',
    id: `customer:${customer.user_id}`,
    label: `customer ${customer.alias ?? customer.user_id}`,
    limits: await limitsOf(customer),
    spend: { customer_id: customer.user_id },
  };
}

/** The budget and rate scopes of `owners` that have limits (key-per-model and member scopes carry no rates). */
function scopesOf(owners: readonly Owner[], now: Date, timeZone: string): CallScopes {
  const scopes: CallScopes = { budgets: [], rates: [] };
  for (const o of owners) {
    const { limits } = o;
    if (limits.max_budget_nano != null || limits.soft_budget_nano != null) {
      scopes.budgets.push({
        kind: o.kind,
        id: o.id,
        label: o.label,
        maxNano: limits.max_budget_nano,
        softNano: limits.soft_budget_nano,
        period: periodFor(o.duration !== undefined ? o.duration : limits.budget_duration, now, timeZone),
        spend: o.spend,
      });
    }
    if (o.kind !== 'key_model' && o.kind !== 'member') {
      if (limits.rpm_limit != null || limits.tpm_limit != null || limits.max_parallel_requests != null) {
        scopes.rates.push({
          id: o.id,
          label: o.label,
          rpm: limits.rpm_limit,
          tpm: limits.tpm_limit,
          parallel: limits.max_parallel_requests,
        });
      }
    }
  }
  return scopes;
}

export async function resolveScopes(ctx: CallContext, cache: ControlCache, timeZone: string): Promise<CallScopes> {
  const p = ctx.principal;
  const [key, user, team, member, customer, ...tags] = await Promise.all([
    p.kind === 'key' ? cache.get('key', p.keyHash) : null,
    p.userId ? cache.get('user', p.userId) : null,
    p.teamId ? cache.get('team', p.teamId) : null,
    p.teamId && p.userId ? cache.get('member', memberId(p.teamId, p.userId)) : null,
    ctx.customerId ? cache.get('customer', ctx.customerId) : null,
    ...ctx.tags.map((t) => cache.get('tag', t)),
  ]);
  const tier = async (limits: LimitsDoc) => (limits.budget_id ? cache.get('budget', limits.budget_id) : null);
  const limitsOf = async (limits: LimitsDoc) => effectiveLimits(limits, await tier(limits));

  const owners: Owner[] = [];
  if (key) owners.push(...(await keyOwners(key, ctx.model, limitsOf)));
  if (user) owners.push(await userOwner(user, limitsOf));
  if (team) owners.push(...(await teamOwners(team, member, user, limitsOf)));
  if (customer) owners.push(await customerOwner(customer, limitsOf));
  for (const tag of tags) {
    if (tag) {
      owners.push({
        kind: 'tag',
        id: `tag:${tag.name}`,
        label: `tag ${tag.name}`,
        limits: await limitsOf(tag),
        spend: { tag: tag.name },
      });
    }
  }
  return scopesOf(owners, ctx.now, timeZone);
}
