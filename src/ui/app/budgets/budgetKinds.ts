// The budgeted entities of the management API (LiteLLM paths and field names) as the Budgets tab sees them.
import { get, listOf, post } from '../api.js';

export type Entity = Record<string, unknown> & {
  spend?: number | string | null;
  max_budget?: number | null;
  soft_budget?: number | null;
  budget_duration?: string | null;
  budget_reset_at?: string | null;
};

export interface BudgetKind {
  id: 'team' | 'user' | 'customer' | 'tag' | 'budget';
  title: string;
  /** Field holding the entity's id, and an optional display-name field. */
  idField: string;
  nameField: string | null;
  list: string;
  create: string;
  update: string;
}

export const KINDS: BudgetKind[] = [
  {
    id: 'team',
    title: 'Teams',
    idField: 'team_id',
    nameField: 'team_alias',
    list: '/team/list',
    create: '/team/new',
    update: '/team/update',
  },
  {
    id: 'user',
    title: 'Users',
    idField: 'user_id',
    nameField: 'user_email',
    list: '/user/list?page_size=100',
    create: '/user/new',
    update: '/user/update',
  },
  {
    id: 'customer',
    title: 'Customers',
    idField: 'user_id',
    nameField: 'alias',
    list: '/customer/list',
    create: '/customer/new',
    update: '/customer/update',
  },
  {
    id: 'tag',
    title: 'Tags',
    idField: 'name',
    nameField: 'description',
    list: '/tag/list',
    create: '/tag/new',
    update: '/tag/update',
  },
  {
    id: 'budget',
    title: 'Budget tiers',
    idField: 'budget_id',
    nameField: null,
    list: '/budget/list',
    create: '/budget/new',
    update: '/budget/update',
  },
];

export async function listEntities(kind: BudgetKind, signal: AbortSignal): Promise<Entity[]> {
  return listOf<Entity>(await get(kind.list, signal));
}

export const saveEntity = (kind: BudgetKind, isNew: boolean, body: Record<string, unknown>) =>
  post(isNew ? kind.create : kind.update, body);

export interface Member {
  user_id: string;
  role?: string;
  max_budget_in_team?: number | null;
}

/** Members of a team from /team/info (`team_memberships`; older LiteLLM: team_info.members_with_roles). */
export async function teamMembers(teamId: string, signal: AbortSignal): Promise<Member[]> {
  const info = await get<Record<string, unknown>>(`/team/info?team_id=${encodeURIComponent(teamId)}`, signal);
  const teamInfo = (info.team_info ?? info) as Record<string, unknown>;
  const members = info.team_memberships ?? teamInfo.members_with_roles ?? teamInfo.members ?? [];
  return Array.isArray(members) ? (members as Member[]) : [];
}

export const addMember = (teamId: string, userId: string, role: string) =>
  post('/team/member_add', { team_id: teamId, member: { user_id: userId, role } });
export const removeMember = (teamId: string, userId: string) =>
  post('/team/member_delete', { team_id: teamId, user_id: userId });

/** A budget's forecast as GET /spend/forecast gives it (docs/finops.md, Forecasts). */
export interface BudgetForecast {
  period_end_spend_usd: string | null;
  runs_out_at: string | null;
  exceeds_budget: boolean;
  method: string;
}

/**
 * Forecasts of every budget of `kind` by entity id (teams, users, customers, tags; a tier has none of its
 * own); empty when the caller may not read them.
 */
export async function budgetForecasts(kind: BudgetKind, signal?: AbortSignal): Promise<Map<string, BudgetForecast>> {
  const out = new Map<string, BudgetForecast>();
  if (kind.id === 'budget') return out;
  const body = await get<{ budgets: { scope: string; forecast: BudgetForecast | null }[] }>(
    `/spend/forecast?scope_type=${kind.id}`,
    signal,
  );
  const prefix = `${kind.id}:`;
  for (const b of body.budgets) if (b.forecast) out.set(b.scope.slice(prefix.length), b.forecast);
  return out;
}
