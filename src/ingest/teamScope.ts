// What a team's ingest key may write: only its own team's money. Every scope an ingested record is charged
// to or reported under (budgets/charge.ts charges key, user, team, member, customer and tags) must belong
// to the key's team, else the record is rejected naming the field:
// - team_id: the key's team (absent = the key's team);
// - key_hash: a key of that team (an unknown hash too is refused: a rotated-away hash still counts in its
//   key's spend, and a team key has no business naming keys Spendhouse does not know);
// - user_id: a member of that team, or the ingesting key's own user;
// - customer_id: end users belong to no team, so one with a budget of its own (or a budget tier) is
//   refused; one without a budget charges nothing and is accepted;
// - tags: tags belong to no team either; a tag with a budget is accepted only when it is one of the team's
//   tags or of the ingesting key's default tags (which every proxied call of that key carries anyway).
// The master key, admins and an ingest key without a team are not checked (docs/ingest.md).
import type { Principal } from '../auth/principal.js';
import type { ControlCache } from '../management/cache.js';
import { memberId } from '../management/entities.js';
import type { LimitsDoc } from '../management/limits.js';
import type { SpendRecord } from '../spendRecord.js';

export interface ScopeViolation {
  field: string;
  reason: string;
}

/** Fills in the team when absent; returns the first field that reaches outside the team, or null. */
export type RecordScopeCheck = (record: SpendRecord) => Promise<ScopeViolation | null>;

const hasBudget = (limits: LimitsDoc) =>
  limits.max_budget_nano != null || limits.soft_budget_nano != null || limits.budget_id != null;

export function ingestScopeChecker(cache: ControlCache | null): (principal: Principal) => RecordScopeCheck {
  return (principal) => {
    const team = principal.teamId ?? '';
    const teamName = JSON.stringify(team);
    let teamTags: Promise<Set<string>> | null = null;
    const tagsOfTeam = (c: ControlCache) => {
      teamTags ??= c.get('team', team).then((doc) => new Set(doc?.tags ?? []));
      return teamTags;
    };
    const outside = (field: string, what: string): ScopeViolation => ({
      field,
      reason: `${what}; this key may only write records of its team ${teamName}`,
    });
    return async (record) => {
      if (!record.team_id) record.team_id = team;
      else if (record.team_id !== team)
        return outside('team_id', `team ${JSON.stringify(record.team_id)} is another team`);
      if (!cache) {
        // No control plane in this process (role worker): nothing beyond the team can be checked.
        const named = (['key_hash', 'user_id', 'customer_id'] as const).find((f) => record[f]);
        if (named) return outside(named, 'cannot be checked on this instance (no control plane)');
        // A tag may carry a budget, which cannot be looked up here: only the key's own tags pass.
        const tag = record.tags.find((name) => !principal.tags.includes(name));
        return tag === undefined
          ? null
          : outside('tags', `tag ${JSON.stringify(tag)} cannot be checked on this instance (no control plane)`);
      }
      if (record.key_hash) {
        const key = await cache.get('key', record.key_hash);
        if (key?.team_id !== team) return outside('key_hash', 'not a key of this team');
      }
      if (record.user_id && record.user_id !== principal.userId) {
        if (!(await cache.get('member', memberId(team, record.user_id)))) {
          return outside('user_id', `user ${JSON.stringify(record.user_id)} is not a member of this team`);
        }
      }
      if (record.customer_id) {
        const customer = await cache.get('customer', record.customer_id);
        if (customer && hasBudget(customer)) {
          return outside('customer_id', `customer ${JSON.stringify(record.customer_id)} has a budget of its own`);
        }
      }
      for (const name of record.tags) {
        if (principal.tags.includes(name) || (await tagsOfTeam(cache)).has(name)) continue;
        const tag = await cache.get('tag', name);
        if (tag && hasBudget(tag))
          return outside('tags', `tag ${JSON.stringify(name)} has a budget and is not a tag of this team`);
      }
      return null;
    };
  };
}
