// Customers (end users), tags with budgets and reusable budget tiers share one CRUD shape:
// /<kind>/new, /<kind>/update, /<kind>/delete, /<kind>/info, GET /<kind>/list, with LiteLLM's field names.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { AppError } from '../errors.js';
import type { SpendFilter } from '../query/spendTotal.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlPlane } from './control.js';
import type { BudgetDoc, CustomerDoc, TagDoc } from './entities.js';
import { lookupId, metadataInput, modelsInput, nameInput } from './fields.js';
import { parseInput } from './http.js';
import { applyLimits, EMPTY_LIMITS, type LimitsDoc, limitsInputShape, withLimitsToApi } from './limits.js';

type SimpleKind = 'customer' | 'tag' | 'budget';
type SimpleDoc = CustomerDoc | TagDoc | BudgetDoc;

interface SimpleSpec<D extends SimpleDoc, I extends Record<string, unknown>> {
  kind: SimpleKind;
  /** The id field in bodies and docs (`user_id` for customers, `name` for tags, `budget_id` for tiers). */
  idField: string;
  fields: z.ZodRawShape;
  /** A new doc from input (id already decided). */
  create(id: string, now: string): D;
  apply(doc: D, input: I): D;
  spend?(doc: D): SpendFilter;
}

const text = z.string().min(1).max(512);
/** Names a client writes (aliases, model names): the id character rule. */
const name = nameInput;

const customerSpec: SimpleSpec<CustomerDoc, Record<string, unknown>> = {
  kind: 'customer',
  idField: 'user_id',
  fields: {
    alias: name.nullable().optional(),
    blocked: z.boolean().optional(),
    allowed_model_region: name.nullable().optional(),
    default_model: name.nullable().optional(),
    metadata: metadataInput.optional(),
  },
  create: (id, now) => ({
    ...EMPTY_LIMITS,
    user_id: id,
    alias: null,
    blocked: false,
    allowed_model_region: null,
    default_model: null,
    metadata: {},
    created_at: now,
    updated_at: now,
  }),
  apply: (doc, input) => ({
    ...doc,
    ...pick(input, ['alias', 'blocked', 'allowed_model_region', 'default_model', 'metadata']),
  }),
  spend: (doc) => ({ customer_id: doc.user_id }),
};

const tagSpec: SimpleSpec<TagDoc, Record<string, unknown>> = {
  kind: 'tag',
  idField: 'name',
  fields: { description: text.nullable().optional(), models: modelsInput.optional() },
  create: (id, now) => ({ ...EMPTY_LIMITS, name: id, description: null, models: [], created_at: now, updated_at: now }),
  apply: (doc, input) => ({ ...doc, ...pick(input, ['description', 'models']) }),
  spend: (doc) => ({ tag: doc.name }),
};

const budgetSpec: SimpleSpec<BudgetDoc, Record<string, unknown>> = {
  kind: 'budget',
  idField: 'budget_id',
  fields: {},
  create: (id, now) => ({ ...EMPTY_LIMITS, budget_id: id, created_at: now, updated_at: now }),
  apply: (doc) => doc,
};

function pick(input: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (input[n] !== undefined) out[n] = input[n];
  return out;
}

function registerSimple<D extends SimpleDoc>(
  app: FastifyInstance,
  plane: ControlPlane,
  spec: SimpleSpec<D, Record<string, unknown>>,
): void {
  const { kind, idField } = spec;
  const limits = kind === 'budget' ? (({ budget_id: _b, ...rest }) => rest)(limitsInputShape) : limitsInputShape;
  // A new id follows the name rule; ids that look an entry up stay plain strings (see fields.ts).
  const id = lookupId.max(256);
  const newSchema = z.strictObject({
    ...spec.fields,
    ...limits,
    [idField]: kind === 'budget' ? nameInput.optional() : nameInput,
  });
  const updateSchema = z.strictObject({ ...spec.fields, ...limits, [idField]: id });
  const idOf = (doc: D) => (doc as unknown as Record<string, string>)[idField] ?? '';

  const toApi = async (doc: D) => {
    const spend = spec.spend ? await plane.spendToApi(spec.spend(doc), doc.budget_duration) : {};
    return {
      ...withLimitsToApi(doc as D & LimitsDoc),
      ...(kind === 'budget' ? { budget_id: idOf(doc) } : {}),
      ...spend,
    };
  };

  const change = async (doc: D, input: Record<string, unknown>): Promise<D> => {
    const budgetId = input.budget_id;
    // A tier's own id is its budget_id; other kinds reference a tier by it.
    if (kind !== 'budget' && typeof budgetId === 'string')
      await plane.requireReference('budget', budgetId, 'budget_id');
    const next = spec.apply({ ...doc, ...applyLimits(doc, input), updated_at: plane.now().toISOString() }, input);
    if (kind === 'budget') (next as BudgetDoc).budget_id = idOf(doc);
    return next;
  };

  app.post(`/${kind}/new`, async (request) => {
    const input = parseInput(newSchema, request.body) as Record<string, unknown>;
    const newId = (input[idField] as string | undefined) ?? crypto.randomUUID();
    return plane.withLocks([`${kind}:${newId}`], async () => {
      if (await plane.store.get(kind, newId)) {
        throw new AppError('conflict', `${idField}: ${kind} ${quoted(newId)} already exists`, {
          param: idField,
        });
      }
      const doc = await change(spec.create(newId, plane.now().toISOString()), input);
      await plane.write(kind, { put: [doc] });
      return toApi(doc);
    });
  });

  app.post(`/${kind}/update`, async (request) => {
    const input = parseInput(updateSchema, request.body) as Record<string, unknown>;
    const current = (await plane.require(kind, input[idField] as string, idField)) as D;
    const doc = await change(current, input);
    await plane.write(kind, { put: [doc] });
    return toApi(doc);
  });

  // LiteLLM: customers delete by {user_ids}, tags by {name} (or names), tiers by {id}.
  const deleteSchema = z.strictObject({
    user_ids: z.array(id).max(1000).optional(),
    names: z.array(id).max(1000).optional(),
    name: id.optional(),
    id: id.optional(),
  });
  app.post(`/${kind}/delete`, async (request) => {
    const input = parseInput(deleteSchema, request.body);
    const ids = [
      ...(input.user_ids ?? []),
      ...(input.names ?? []),
      ...(input.name ? [input.name] : []),
      ...(input.id ? [input.id] : []),
    ];
    if (ids.length === 0) throw new AppError('bad_request', `${idField}: give the ids to delete`, { param: idField });
    for (const one of ids) await plane.require(kind, one, idField);
    await plane.write(kind, { remove: ids });
    return { deleted: ids };
  });

  const wellFormed = (ids: string[]): string[] => {
    if (ids.every((one) => one.isWellFormed())) return ids;
    throw new AppError('bad_request', `${idField}: must be valid Unicode (found a lone surrogate)`, { param: idField });
  };
  const infoIds = (q: Record<string, unknown>): string[] => {
    const many = q.names ?? q.budgets ?? q.user_ids;
    if (Array.isArray(many)) return wellFormed(many.map(String));
    const one = q[idField] ?? q.end_user_id ?? q.name ?? q.budget_id;
    if (typeof one === 'string' && one) return wellFormed([one]);
    throw new AppError('bad_request', `${idField}: required`, { param: idField });
  };
  const info = async (ids: string[]) => {
    const docs = await Promise.all(ids.map((one) => plane.require(kind, one, idField) as Promise<D>));
    const shaped = await Promise.all(docs.map(toApi));
    // LiteLLM answers /tag/info as {name: info}, /budget/info as a list, /customer/info as one object.
    if (kind === 'tag') return Object.fromEntries(shaped.map((s, i) => [ids[i], s]));
    if (kind === 'budget') return shaped;
    return shaped[0];
  };
  app.get(`/${kind}/info`, async (request) => info(infoIds(request.query as Record<string, unknown>)));
  app.post(`/${kind}/info`, async (request) => info(infoIds((request.body ?? {}) as Record<string, unknown>)));

  app.get(`/${kind}/list`, async () => {
    const { docs } = await plane.store.list(kind, {});
    return Promise.all((docs as D[]).map(toApi));
  });
}

export default async function simpleEntityRoutes(app: FastifyInstance, opts: { plane: ControlPlane }): Promise<void> {
  app.addHook('preHandler', async (request) => {
    await requireAdmin(app, request);
  });
  registerSimple(app, opts.plane, customerSpec);
  registerSimple(app, opts.plane, tagSpec);
  registerSimple(app, opts.plane, budgetSpec);
}
