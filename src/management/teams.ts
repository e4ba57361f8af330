// Teams and their members: /team/new, /team/update, /team/delete, GET /team/info, GET /team/list,
// /team/member_add, /team/member_delete, /team/member_update (per-member budget: max_budget_in_team).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { AppError } from '../errors.js';
import { usdToNano } from '../spendRecord.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlPlane } from './control.js';
import { type MemberDoc, memberId, memberRoleSchema, type TeamDoc } from './entities.js';
import { lookupId, lookupInput, metadataInput, modelsInput, nameInput, tagsInput } from './fields.js';
import { parseInput } from './http.js';
import { aliasLocks, forecastOfLimits, keyToApi } from './keys.js';
import { applyLimits, EMPTY_LIMITS, limitsInputShape, nanoToUsdNumber, usdAmount, withLimitsToApi } from './limits.js';

const memberRef = z.strictObject({
  user_id: nameInput.optional(),
  user_email: lookupId.optional(),
  role: memberRoleSchema.default('user'),
});
type MemberRef = z.infer<typeof memberRef>;

const teamFields = {
  team_alias: nameInput.nullable().optional(),
  models: modelsInput.optional(),
  tags: tagsInput.optional(),
  metadata: metadataInput.optional(),
  blocked: z.boolean().optional(),
  ...limitsInputShape,
};
const newTeamSchema = z.strictObject({
  ...teamFields,
  team_id: nameInput.optional(),
  members_with_roles: z.array(memberRef).max(1000).optional(),
});
const updateTeamSchema = z.strictObject({ ...teamFields, team_id: lookupId });
const deleteTeamSchema = z.strictObject({ team_ids: z.array(lookupId).min(1).max(1000) });
const memberAddSchema = z.strictObject({
  team_id: lookupId,
  member: z.union([memberRef, z.array(memberRef).min(1).max(1000)]),
  max_budget_in_team: usdAmount.nullable().optional(),
});
const memberChangeSchema = z.strictObject({
  team_id: lookupId,
  user_id: lookupId.optional(),
  user_email: lookupId.optional(),
  role: memberRoleSchema.optional(),
  max_budget_in_team: usdAmount.nullable().optional(),
});

function applyTeamFields(base: TeamDoc, input: Omit<z.infer<typeof updateTeamSchema>, 'team_id'>, now: Date): TeamDoc {
  const doc: TeamDoc = { ...base, ...applyLimits(base, input), updated_at: now.toISOString() };
  if (input.team_alias !== undefined) doc.team_alias = input.team_alias;
  if (input.models !== undefined) doc.models = input.models;
  if (input.tags !== undefined) doc.tags = [...new Set(input.tags)].sort();
  if (input.metadata !== undefined) doc.metadata = input.metadata;
  if (input.blocked !== undefined) doc.blocked = input.blocked;
  return doc;
}

/** Resolves a member reference to a user id: by user_id as given, or by the email of an existing user. */
export async function resolveMember(
  plane: ControlPlane,
  ref: { user_id?: string; user_email?: string },
  param: string,
): Promise<string> {
  if (ref.user_id) return ref.user_id;
  if (!ref.user_email)
    throw new AppError('bad_request', `${param}.user_id: give user_id or user_email`, { param: `${param}.user_id` });
  const { docs } = await plane.store.list('user', { alias: ref.user_email });
  const user = docs[0];
  if (!user)
    throw new AppError('bad_request', `${param}.user_email: no user with email ${quoted(ref.user_email)}`, {
      param: `${param}.user_email`,
    });
  return user.user_id;
}

export function memberToApi(m: MemberDoc) {
  return {
    team_id: m.team_id,
    user_id: m.user_id,
    role: m.role,
    max_budget_in_team: nanoToUsdNumber(m.max_budget_in_team_nano),
    litellm_budget_table:
      m.max_budget_in_team_nano == null ? null : { max_budget: nanoToUsdNumber(m.max_budget_in_team_nano) },
  };
}

async function teamToApi(plane: ControlPlane, team: TeamDoc) {
  const [{ docs: members }, spend] = await Promise.all([
    plane.store.list('member', { team_id: team.team_id }),
    plane.spendToApi({ team_id: team.team_id }, team.budget_duration),
  ]);
  return {
    ...withLimitsToApi(team),
    ...spend,
    members_with_roles: members.map((m) => ({ user_id: m.user_id, role: m.role })),
  };
}

async function newMembers(
  plane: ControlPlane,
  teamId: string,
  refs: MemberRef[],
  param: string,
  budgetNano: number | null,
): Promise<MemberDoc[]> {
  const now = plane.now().toISOString();
  const out: MemberDoc[] = [];
  for (const [i, ref] of refs.entries()) {
    const userId = await resolveMember(plane, ref, `${param}[${i}]`);
    out.push({
      team_id: teamId,
      user_id: userId,
      role: ref.role,
      max_budget_in_team_nano: budgetNano,
      created_at: now,
    });
  }
  return out;
}

function newTeamDoc(teamId: string, input: z.infer<typeof newTeamSchema>, now: Date): TeamDoc {
  const base: TeamDoc = {
    ...EMPTY_LIMITS,
    team_id: teamId,
    team_alias: null,
    models: [],
    tags: [],
    metadata: {},
    blocked: false,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  return applyTeamFields(base, input, now);
}

async function createTeam(plane: ControlPlane, input: z.infer<typeof newTeamSchema>) {
  const teamId = input.team_id ?? randomUUID();
  return plane.withLocks([...aliasLocks('team_alias', input.team_alias), `team_id:${teamId}`], async () => {
    if (input.team_id && (await plane.store.get('team', teamId))) {
      throw new AppError('conflict', `team_id: team ${quoted(teamId)} already exists`, { param: 'team_id' });
    }
    if (input.team_alias) await plane.assertFree('team', input.team_alias, 'team_alias');
    if (input.budget_id) await plane.requireReference('budget', input.budget_id, 'budget_id');
    const team = newTeamDoc(teamId, input, plane.now());
    const members = await newMembers(plane, teamId, input.members_with_roles ?? [], 'members_with_roles', null);
    await plane.write('team', { put: [team] });
    if (members.length) await plane.write('member', { put: members });
    return teamToApi(plane, team);
  });
}

async function updateTeam(plane: ControlPlane, input: z.infer<typeof updateTeamSchema>) {
  return plane.withLocks(aliasLocks('team_alias', input.team_alias), async () => {
    const current = await plane.require('team', input.team_id, 'team_id');
    if (input.team_alias) await plane.assertFree('team', input.team_alias, 'team_alias', current.team_id);
    if (input.budget_id) await plane.requireReference('budget', input.budget_id, 'budget_id');
    const team = applyTeamFields(current, input, plane.now());
    await plane.write('team', { put: [team] });
    return teamToApi(plane, team);
  });
}

async function teamInfo(plane: ControlPlane, teamId: string) {
  const team = await plane.require('team', teamId, 'team_id');
  const filter = { team_id: teamId };
  const [info, { docs: keys }, { docs: members }, spentNano] = await Promise.all([
    teamToApi(plane, team),
    plane.store.list('key', { team_id: teamId }),
    plane.store.list('member', { team_id: teamId }),
    plane.spendNano(filter, team.budget_duration),
  ]);
  const forecast = await forecastOfLimits(plane, filter, team, spentNano);
  return {
    team_id: teamId,
    team_info: { ...info, forecast },
    keys: await Promise.all(keys.map((k) => keyToApi(plane, k))),
    team_memberships: members.map(memberToApi),
  };
}

async function listTeams(plane: ControlPlane, userId: string | undefined) {
  let ids: string[] | undefined;
  if (userId) ids = (await plane.store.list('member', { user_id: userId })).docs.map((m) => m.team_id);
  const { docs } = await plane.store.list('team', { ids });
  return Promise.all(docs.map((t) => teamToApi(plane, t)));
}

async function addMembers(plane: ControlPlane, input: z.infer<typeof memberAddSchema>) {
  const team = await plane.requireReference('team', input.team_id, 'team_id');
  const refs = Array.isArray(input.member) ? input.member : [input.member];
  const budget = input.max_budget_in_team == null ? null : usdToNano(input.max_budget_in_team);
  const members = await newMembers(plane, team.team_id, refs, 'member', budget);
  await plane.write('member', { put: members });
  return { ...(await teamToApi(plane, team)), updated_team_memberships: members.map(memberToApi) };
}

async function updateMember(plane: ControlPlane, input: z.infer<typeof memberChangeSchema>) {
  const userId = await resolveMember(plane, input, 'member');
  const current = await plane.require('member', memberId(input.team_id, userId), 'user_id');
  const next: MemberDoc = { ...current };
  if (input.role) next.role = input.role;
  if (input.max_budget_in_team !== undefined) {
    next.max_budget_in_team_nano = input.max_budget_in_team == null ? null : usdToNano(input.max_budget_in_team);
  }
  await plane.write('member', { put: [next] });
  return memberToApi(next);
}

const memberDeleteSchema = memberChangeSchema.omit({ role: true, max_budget_in_team: true });

async function deleteMember(plane: ControlPlane, input: z.infer<typeof memberDeleteSchema>) {
  const userId = await resolveMember(plane, input, 'member');
  await plane.require('member', memberId(input.team_id, userId), 'user_id');
  await plane.write('member', { remove: [memberId(input.team_id, userId)] });
  return { team_id: input.team_id, user_id: userId, deleted: true };
}

export default async function teamRoutes(app: FastifyInstance, opts: { plane: ControlPlane }): Promise<void> {
  const { plane } = opts;
  app.addHook('preHandler', async (request) => {
    await requireAdmin(app, request);
  });
  app.post('/team/new', async (request) => createTeam(plane, parseInput(newTeamSchema, request.body)));
  app.post('/team/update', async (request) => updateTeam(plane, parseInput(updateTeamSchema, request.body)));
  app.post('/team/delete', async (request) => {
    const { team_ids } = parseInput(deleteTeamSchema, request.body);
    for (const [i, id] of team_ids.entries()) await plane.require('team', id, `team_ids[${i}]`);
    await plane.removeOwned('team', team_ids);
    return { deleted_teams: team_ids };
  });
  app.get('/team/info', async (request) => {
    const { team_id } = parseInput(z.strictObject({ team_id: lookupId }), request.query);
    return teamInfo(plane, team_id);
  });
  app.get('/team/list', async (request) => {
    const { user_id } = parseInput(z.strictObject({ user_id: lookupInput.optional() }), request.query);
    return listTeams(plane, user_id);
  });
  app.post('/team/member_add', async (request) => addMembers(plane, parseInput(memberAddSchema, request.body)));
  app.post('/team/member_update', async (request) => updateMember(plane, parseInput(memberChangeSchema, request.body)));
  app.post('/team/member_delete', async (request) => deleteMember(plane, parseInput(memberDeleteSchema, request.body)));
}
