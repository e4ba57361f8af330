// Virtual keys: /key/generate, /key/update, /key/delete, /key/regenerate, /key/block, /key/unblock,
// GET /key/info, GET /key/list. The secret is returned once; only its sha256 (`token`) is stored.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { hashKey, KEY_PERMISSIONS, type KeyPermission } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { addDuration } from '../periods.js';
import type { SpendFilter } from '../query/spendTotal.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlPlane } from './control.js';
import type { KeyDoc } from './entities.js';
import { lookupId, lookupInput, metadataInput, modelsInput, nameInput, tagsInput } from './fields.js';
import { keyReference, pageOf, parseInput, totalPages } from './http.js';
import {
  applyLimits,
  durationInput,
  EMPTY_LIMITS,
  type LimitsDoc,
  limitsInputShape,
  limitsToApi,
  nanoToUsdNumber,
} from './limits.js';

const keyFields = {
  key_alias: nameInput.nullable().optional(),
  user_id: nameInput.nullable().optional(),
  team_id: nameInput.nullable().optional(),
  models: modelsInput.optional(),
  tags: tagsInput.optional(),
  metadata: metadataInput.optional(),
  /** `["ingest"]`, or LiteLLM's object form `{"ingest": true}`. */
  permissions: z
    .union([z.array(z.enum(KEY_PERMISSIONS)), z.partialRecord(z.enum(KEY_PERMISSIONS), z.boolean())])
    .optional(),
  /** Expiry from now (`30d`); null = never. */
  duration: durationInput.nullable().optional(),
  blocked: z.boolean().optional(),
  ...limitsInputShape,
};
export const generateKeySchema = z.strictObject({
  ...keyFields,
  /** A caller-chosen secret (LiteLLM's `key`); otherwise one is generated. */
  key: z
    .string()
    .regex(/^sk-[A-Za-z0-9_-]{8,}$/, 'sk- followed by at least 8 letters, digits, _ or -')
    .optional(),
});
export type GenerateKeyInput = z.infer<typeof generateKeySchema>;
const updateKeySchema = z.strictObject({ ...keyFields, key: lookupId });
const regenerateSchema = z.strictObject({
  ...keyFields,
  key: lookupId.optional(),
  /** How long the old key keeps working (`24h`); absent = it stops at once. */
  grace_period: durationInput.optional(),
  new_key: generateKeySchema.shape.key,
});
const keyRefSchema = z.strictObject({ key: lookupId });
const deleteSchema = z
  .strictObject({ keys: z.array(lookupId).max(1000).optional(), key_aliases: z.array(lookupId).max(1000).optional() })
  .refine((b) => (b.keys?.length ?? 0) + (b.key_aliases?.length ?? 0) > 0, {
    message: 'give keys or key_aliases',
    path: ['keys'],
  });
const listSchema = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(10),
  user_id: lookupInput.optional(),
  team_id: lookupInput.optional(),
  key_alias: lookupInput.optional(),
  return_full_object: z.enum(['true', 'false']).optional(),
});

export function newSecret(): string {
  return `sk-${randomBytes(24).toString('base64url')}`;
}

type KeyChange = Omit<z.infer<typeof updateKeySchema>, 'key'>;

function permissionList(input: NonNullable<KeyChange['permissions']>): KeyPermission[] {
  const granted = Array.isArray(input) ? input : KEY_PERMISSIONS.filter((p) => input[p] === true);
  return [...new Set(granted)].sort();
}

/** Applies the fields present in `input` to a key doc (creation starts from `base`). */
function applyKeyFields(plane: ControlPlane, base: KeyDoc, input: KeyChange): KeyDoc {
  const now = plane.now();
  const doc: KeyDoc = { ...base, ...applyLimits(base, input), updated_at: now.toISOString() };
  if (input.key_alias !== undefined) doc.key_alias = input.key_alias;
  if (input.user_id !== undefined) doc.user_id = input.user_id;
  if (input.team_id !== undefined) doc.team_id = input.team_id;
  if (input.models !== undefined) doc.models = input.models;
  if (input.tags !== undefined) doc.tags = [...new Set(input.tags)].sort();
  if (input.metadata !== undefined) doc.metadata = input.metadata;
  if (input.permissions !== undefined) doc.permissions = permissionList(input.permissions);
  if (input.blocked !== undefined) doc.blocked = input.blocked;
  if (input.duration !== undefined)
    doc.expires = input.duration ? addDuration(now, input.duration).toISOString() : null;
  return doc;
}

/** Checks references and alias uniqueness of a key change (call inside the alias lock). */
async function validateKey(plane: ControlPlane, doc: KeyDoc, input: KeyChange): Promise<void> {
  if (input.team_id) await plane.requireReference('team', input.team_id, 'team_id');
  if (input.budget_id) await plane.requireReference('budget', input.budget_id, 'budget_id');
  if (input.key_alias) await plane.assertFree('key', input.key_alias, 'key_alias', doc.token);
}

/** Builds (does not write) a new key; the caller writes it, possibly with other rows of its request. */
export async function prepareKey(
  plane: ControlPlane,
  input: GenerateKeyInput,
): Promise<{ secret: string; doc: KeyDoc }> {
  const secret = input.key ?? newSecret();
  const now = plane.now().toISOString();
  const base: KeyDoc = {
    ...EMPTY_LIMITS,
    token: hashKey(secret),
    key_id: randomUUID(),
    key_name: `sk-...${secret.slice(-4)}`,
    key_alias: null,
    user_id: null,
    team_id: null,
    models: [],
    tags: [],
    metadata: {},
    permissions: [],
    expires: null,
    blocked: false,
    created_at: now,
    updated_at: now,
    previous_tokens: [],
    rotated_to: null,
  };
  const doc = applyKeyFields(plane, base, input);
  await validateKey(plane, doc, input);
  if (await plane.store.get('key', doc.token))
    throw new AppError('conflict', 'key: this key already exists', { param: 'key' });
  return { secret, doc };
}

export const aliasLocks = (kind: string, ...aliases: (string | null | undefined)[]) =>
  aliases.filter((a): a is string => !!a).map((a) => `${kind}:${a}`);

/**
 * A budget's forecast as /key/info and /team/info show it, against the limits the budget guard and the
 * budget watch apply: the record's own, filled in from its budget tier (`budget_id`). `ownSpentNano` is the
 * spend of the record's own period; a tier's other period is read again.
 */
export async function forecastOfLimits(plane: ControlPlane, filter: SpendFilter, own: LimitsDoc, ownSpentNano: number) {
  const limits = await plane.limitsOf(own);
  const spent =
    limits.budget_duration === own.budget_duration
      ? ownSpentNano
      : await plane.spendNano(filter, limits.budget_duration);
  return plane.forecastToApi(filter, limits.budget_duration, limits.max_budget_nano, spent);
}

/** A key as the API shows it; `forecast` (one more spend query) only where one key is asked for. */
export async function keyToApi(plane: ControlPlane, doc: KeyDoc, opts: { forecast?: boolean } = {}) {
  const filter = { key_hashes: [doc.token, ...doc.previous_tokens] };
  const spend = await plane.spendNano(filter, doc.budget_duration);
  const { previous_tokens: _p, rotated_to: _r, key_id, max_budget_nano: _m, soft_budget_nano: _s, ...rest } = doc;
  return {
    ...rest,
    ...limitsToApi(doc),
    token_id: key_id,
    spend: nanoToUsdNumber(spend),
    budget_reset_at: plane.resetAt(doc.budget_duration),
    ...(opts.forecast ? { forecast: await forecastOfLimits(plane, filter, doc, spend) } : {}),
  };
}

async function requireKey(plane: ControlPlane, ref: string): Promise<KeyDoc> {
  const doc = await plane.require('key', keyReference(ref), 'key');
  if (doc.rotated_to) throw new AppError('not_found', 'key: this key was rotated; use the new key', { param: 'key' });
  return doc;
}

export default async function keyRoutes(app: FastifyInstance, opts: { plane: ControlPlane }): Promise<void> {
  const { plane } = opts;
  app.addHook('preHandler', async (request) => {
    // As in LiteLLM, a key may read its own /key/info; everything else needs an admin.
    if (request.routeOptions.url === '/key/info' && !(await app.authenticate(request)).isAdmin) return;
    await requireAdmin(app, request);
  });

  app.post('/key/generate', async (request) => {
    const input = parseInput(generateKeySchema, request.body);
    return plane.withLocks(aliasLocks('key_alias', input.key_alias), async () => {
      const { secret, doc } = await prepareKey(plane, input);
      await plane.write('key', { put: [doc] });
      return { ...(await keyToApi(plane, doc)), key: secret };
    });
  });

  app.post('/key/update', async (request) => {
    const input = parseInput(updateKeySchema, request.body);
    return plane.withLocks(aliasLocks('key_alias', input.key_alias), async () => {
      const current = await requireKey(plane, input.key);
      const doc = applyKeyFields(plane, current, input);
      await validateKey(plane, doc, input);
      await plane.write('key', { put: [doc] });
      return keyToApi(plane, doc);
    });
  });

  app.post('/key/delete', async (request) => deleteKeys(plane, parseInput(deleteSchema, request.body)));

  app.post('/key/regenerate', async (request) => regenerate(plane, parseInput(regenerateSchema, request.body)));
  app.post<{ Params: { key: string } }>('/key/:key/regenerate', async (request) =>
    regenerate(plane, { ...parseInput(regenerateSchema, request.body), key: request.params.key }),
  );

  for (const [path, blocked] of [
    ['/key/block', true],
    ['/key/unblock', false],
  ] as const) {
    app.post(path, async (request) => {
      const { key } = parseInput(keyRefSchema, request.body);
      const doc = { ...(await requireKey(plane, key)), blocked, updated_at: plane.now().toISOString() };
      await plane.write('key', { put: [doc] });
      return keyToApi(plane, doc);
    });
  }

  app.get('/key/info', async (request) => {
    const { key } = parseInput(keyRefSchema.partial(), request.query);
    const caller = await app.authenticate(request);
    const token = key ? keyReference(key) : caller.keyHash;
    if (!caller.isAdmin && token !== caller.keyHash) {
      throw new AppError('forbidden', 'key: a key may only read its own info', { param: 'key' });
    }
    const doc = await requireKey(plane, token);
    return { key: doc.token, info: await keyToApi(plane, doc, { forecast: true }) };
  });

  app.get('/key/list', async (request) => listKeys(plane, parseInput(listSchema, request.query)));
}

/** /key/delete by hashes or aliases; the grace-period aliases of deleted keys die with them. */
async function deleteKeys(plane: ControlPlane, input: z.infer<typeof deleteSchema>) {
  const tokens = new Set<string>();
  for (const [i, ref] of (input.keys ?? []).entries())
    tokens.add((await plane.require('key', keyReference(ref), `keys[${i}]`)).token);
  for (const [i, alias] of (input.key_aliases ?? []).entries()) {
    const { docs } = await plane.store.list('key', { alias });
    if (!docs[0])
      throw new AppError('not_found', `key_aliases[${i}]: no key with alias ${quoted(alias)}`, {
        param: `key_aliases[${i}]`,
      });
    for (const d of docs) tokens.add(d.token);
  }
  const { docs: aliases } = await plane.store.list('key', { includeUnlisted: true });
  const rotated = aliases.filter((d) => d.rotated_to && tokens.has(d.rotated_to)).map((d) => d.token);
  await plane.write('key', { remove: [...tokens, ...rotated] });
  return { deleted_keys: [...tokens] };
}

async function listKeys(plane: ControlPlane, q: z.infer<typeof listSchema>) {
  const { docs, total } = await plane.store.list(
    'key',
    { user_id: q.user_id, team_id: q.team_id, alias: q.key_alias },
    pageOf(q.page, q.size),
  );
  const keys =
    q.return_full_object === 'true' ? await Promise.all(docs.map((d) => keyToApi(plane, d))) : docs.map((d) => d.token);
  return { keys, total_count: total, current_page: q.page, total_pages: totalPages(total, q.size) };
}

async function regenerate(plane: ControlPlane, input: z.infer<typeof regenerateSchema>) {
  if (!input.key) throw new AppError('bad_request', 'key: required', { param: 'key' });
  const { key, grace_period, new_key, ...change } = input;
  return plane.withLocks(aliasLocks('key_alias', change.key_alias), async () => {
    const old = await requireKey(plane, key);
    const secret = new_key ?? newSecret();
    const token = hashKey(secret);
    const now = plane.now();
    const fresh = applyKeyFields(
      plane,
      { ...old, token, key_name: `sk-...${secret.slice(-4)}`, previous_tokens: [...old.previous_tokens, old.token] },
      change,
    );
    await validateKey(plane, fresh, change);
    if (grace_period) {
      const alias: KeyDoc = {
        ...old,
        key_alias: null,
        rotated_to: token,
        expires: addDuration(now, grace_period).toISOString(),
        updated_at: now.toISOString(),
      };
      await plane.write('key', { put: [fresh, alias] });
    } else {
      await plane.write('key', { put: [fresh], remove: [old.token] });
    }
    return { ...(await keyToApi(plane, fresh)), key: secret };
  });
}
