// Internal users: /user/new (optionally joining teams and creating a key, as LiteLLM does by default),
// /user/update, /user/delete, GET /user/info, GET /user/list.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { AppError } from '../errors.js';
import { nameText } from '../validation/nameText.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlPlane } from './control.js';
import { type KeyDoc, type MemberDoc, type UserDoc, userRoleSchema } from './entities.js';
import { lookupId, lookupInput, metadataInput, modelsInput, nameInput } from './fields.js';
import { pageOf, parseInput, totalPages } from './http.js';
import { aliasLocks, keyToApi, prepareKey } from './keys.js';
import { applyLimits, durationInput, EMPTY_LIMITS, limitsInputShape, withLimitsToApi } from './limits.js';
import { memberToApi } from './teams.js';

const userFields = {
  user_email: nameText(320).min(3).nullable().optional(),
  user_alias: nameInput.nullable().optional(),
  user_role: userRoleSchema.optional(),
  models: modelsInput.optional(),
  metadata: metadataInput.optional(),
  blocked: z.boolean().optional(),
  ...limitsInputShape,
};
const newUserSchema = z.strictObject({
  ...userFields,
  user_id: nameInput.optional(),
  team_id: lookupId.optional(),
  teams: z
    .array(z.union([lookupId, z.strictObject({ team_id: lookupId, user_role: z.enum(['admin', 'user']).optional() })]))
    .optional(),
  auto_create_key: z.boolean().default(true),
  key_alias: nameInput.optional(),
  duration: durationInput.optional(),
  send_invite_email: z.boolean().optional(),
});
const updateUserSchema = z.strictObject({ ...userFields, user_id: lookupId.optional() });
const listSchema = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(25),
  user_ids: lookupInput.optional(),
  team_id: lookupInput.optional(),
  user_email: lookupInput.optional(),
});

function applyUserFields(base: UserDoc, input: z.infer<typeof updateUserSchema>, now: Date): UserDoc {
  const doc: UserDoc = { ...base, ...applyLimits(base, input), updated_at: now.toISOString() };
  if (input.user_email !== undefined) doc.user_email = input.user_email;
  if (input.user_alias !== undefined) doc.user_alias = input.user_alias;
  if (input.user_role !== undefined) doc.user_role = input.user_role;
  if (input.models !== undefined) doc.models = input.models;
  if (input.metadata !== undefined) doc.metadata = input.metadata;
  if (input.blocked !== undefined) doc.blocked = input.blocked;
  return doc;
}

async function userToApi(plane: ControlPlane, user: UserDoc) {
  const [{ docs: members }, spend] = await Promise.all([
    plane.store.list('member', { user_id: user.user_id }),
    plane.spendToApi({ user_id: user.user_id }, user.budget_duration),
  ]);
  return {
    ...withLimitsToApi(user),
    ...spend,
    teams: members.map((m) => m.team_id),
  };
}

async function findUser(
  plane: ControlPlane,
  input: { user_id?: string; user_email?: string | null },
): Promise<UserDoc> {
  if (input.user_id) return plane.require('user', input.user_id, 'user_id');
  if (!input.user_email) throw new AppError('bad_request', 'user_id: required (or user_email)', { param: 'user_id' });
  const { docs } = await plane.store.list('user', { alias: input.user_email });
  if (!docs[0])
    throw new AppError('not_found', `user_email: no user with email ${quoted(input.user_email)}`, {
      param: 'user_email',
    });
  return docs[0];
}

type NewUserInput = z.infer<typeof newUserSchema>;

/** The teams /user/new joins (`team_id` and `teams`), each with the body field that named it. */
function teamRefsOf(input: NewUserInput) {
  return [
    ...(input.team_id ? [{ team_id: input.team_id, role: 'user' as const, param: 'team_id' }] : []),
    ...(input.teams ?? []).map((t, i) =>
      typeof t === 'string'
        ? { team_id: t, role: 'user' as const, param: `teams[${i}]` }
        : { team_id: t.team_id, role: t.user_role ?? 'user', param: `teams[${i}].team_id` },
    ),
  ];
}

function newUserDoc(userId: string, input: NewUserInput, now: Date): UserDoc {
  const base: UserDoc = {
    ...EMPTY_LIMITS,
    user_id: userId,
    user_email: null,
    user_alias: null,
    user_role: 'internal_user',
    models: [],
    metadata: {},
    blocked: false,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  return applyUserFields(base, input, now);
}

/** /user/new: the user, its memberships and (by default) a key, all checked before anything is written. */
async function createUser(plane: ControlPlane, input: NewUserInput) {
  const userId = input.user_id ?? randomUUID();
  const locks = [
    `user_id:${userId}`,
    ...aliasLocks('user_email', input.user_email),
    ...aliasLocks('key_alias', input.key_alias),
  ];
  return plane.withLocks(locks, async () => {
    if (input.user_id && (await plane.store.get('user', userId))) {
      throw new AppError('conflict', `user_id: user ${quoted(userId)} already exists`, { param: 'user_id' });
    }
    if (input.user_email) await plane.assertFree('user', input.user_email, 'user_email');
    if (input.budget_id) await plane.requireReference('budget', input.budget_id, 'budget_id');
    const teamRefs = teamRefsOf(input);
    for (const ref of teamRefs) await plane.requireReference('team', ref.team_id, ref.param);
    const now = plane.now();
    const user = newUserDoc(userId, input, now);
    const members: MemberDoc[] = teamRefs.map((t) => ({
      team_id: t.team_id,
      user_id: userId,
      role: t.role,
      max_budget_in_team_nano: null,
      created_at: now.toISOString(),
    }));
    // The user's own budget lives on the user scope; the key only carries attribution.
    const key: { secret: string; doc: KeyDoc } | null = input.auto_create_key
      ? await prepareKey(plane, {
          user_id: userId,
          team_id: input.team_id ?? null,
          key_alias: input.key_alias,
          duration: input.duration,
          models: input.models,
        })
      : null;
    await plane.write('user', { put: [user] });
    if (members.length) await plane.write('member', { put: members });
    if (key) await plane.write('key', { put: [key.doc] });
    return {
      ...(await userToApi(plane, user)),
      key: key?.secret ?? null,
      token: key?.doc.token ?? null,
      key_name: key?.doc.key_name ?? null,
      expires: key?.doc.expires ?? null,
    };
  });
}

async function updateUser(plane: ControlPlane, input: z.infer<typeof updateUserSchema>) {
  return plane.withLocks(aliasLocks('user_email', input.user_email), async () => {
    const current = await findUser(plane, {
      user_id: input.user_id,
      user_email: input.user_id ? undefined : input.user_email,
    });
    if (input.user_email) await plane.assertFree('user', input.user_email, 'user_email', current.user_id);
    if (input.budget_id) await plane.requireReference('budget', input.budget_id, 'budget_id');
    const user = applyUserFields(current, input, plane.now());
    await plane.write('user', { put: [user] });
    return userToApi(plane, user);
  });
}

async function userInfo(plane: ControlPlane, q: { user_id?: string; user_email?: string }) {
  const user = await findUser(plane, q);
  const [info, { docs: keys }, { docs: members }] = await Promise.all([
    userToApi(plane, user),
    plane.store.list('key', { user_id: user.user_id }),
    plane.store.list('member', { user_id: user.user_id }),
  ]);
  return {
    user_id: user.user_id,
    user_info: info,
    keys: await Promise.all(keys.map((k) => keyToApi(plane, k))),
    teams: members.map(memberToApi),
  };
}

async function listUsers(plane: ControlPlane, q: z.infer<typeof listSchema>) {
  let ids = q.user_ids
    ? q.user_ids
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  if (q.team_id) {
    const inTeam = (await plane.store.list('member', { team_id: q.team_id })).docs.map((m) => m.user_id);
    ids = ids ? ids.filter((id) => inTeam.includes(id)) : inTeam;
  }
  const { docs, total } = await plane.store.list('user', { ids, alias: q.user_email }, pageOf(q.page, q.page_size));
  const users = await Promise.all(docs.map((u) => userToApi(plane, u)));
  return { users, total, page: q.page, page_size: q.page_size, total_pages: totalPages(total, q.page_size) };
}

export default async function userRoutes(app: FastifyInstance, opts: { plane: ControlPlane }): Promise<void> {
  const { plane } = opts;
  app.addHook('preHandler', async (request) => {
    await requireAdmin(app, request);
  });
  app.post('/user/new', async (request) => createUser(plane, parseInput(newUserSchema, request.body)));
  app.post('/user/update', async (request) => updateUser(plane, parseInput(updateUserSchema, request.body)));
  app.post('/user/delete', async (request) => {
    const { user_ids } = parseInput(z.strictObject({ user_ids: z.array(lookupId).min(1).max(1000) }), request.body);
    for (const [i, id] of user_ids.entries()) await plane.require('user', id, `user_ids[${i}]`);
    await plane.removeOwned('user', user_ids);
    return { deleted_users: user_ids };
  });
  const infoQuery = z.strictObject({ user_id: lookupId.optional(), user_email: lookupInput.optional() });
  app.get('/user/info', async (request) => userInfo(plane, parseInput(infoQuery, request.query)));
  app.get('/user/list', async (request) => listUsers(plane, parseInput(listSchema, request.query)));
}
