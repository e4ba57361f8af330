// Customers (end users), tags with budgets and reusable budget tiers share one CRUD shape:
// /<kind>/new, /<kind>/update, /<kind>/delete, /<kind>/info, GET /<kind>/list, with LiteLLM's field names.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import { AppError } from '../errors.js';
import { quoted } from '../validation/zodMessages.js';
import type { ControlPlane } from './control.js';
import type { BudgetDoc, CustomerDoc, TagDoc } from './entities.js';
import { lookupId, metadataInput, modelsInput, nameInput } from './fields.js';
import { parseInput } from './http.js';
import { applyLimits, EMPTY_LIMITS, type LimitsDoc, limitsInputShape, withLimitsToApi } from './limits.js';

type SimpleKind = 'customer' | 'tag' | 'budget';
type SimpleDoc = CustomerDoc | TagDoc | BudgetDoc;
type Input = Record<string, unknown>;

interface SimpleSpec<D extends SimpleDoc> {
  kind: SimpleKind;
  /** The id field in bodies and docs (`user_id` for customers, `name` for tags, `budget_id` for tiers). */
  idField: string;
  /** The id on /new: required, or optional when one is generated. */
  newId: z.ZodType<string | undefined>;
  fields: z.ZodRawShape;
  limits: z.ZodRawShape;
  /** Whether `budget_id` in a body names a budget tier that must exist (a tier's own budget_id is its id). */
  referencesTier: boolean;
  /** A new doc from input (id already decided). */
  create(id: string, now: string): D;
  /** `next` is `before` with the input's limits applied: its own fields from `input`. */
  apply(next: D, input: Input, before: D): D;
  /** Fields of the answer beyond the doc and its limits (the spend of the current period). */
  apiFields(doc: D, plane: ControlPlane): Promise<Input>;
  /** LiteLLM answers /tag/info as {name: info}, /budget/info as a list, /customer/info as one object. */
  info: 'by_id' | 'list' | 'one';
}

const text = z.string().min(1).max(512);
/** Names a client writes (aliases, model names): the id character rule. */
const name = nameInput;

const customerSpec: SimpleSpec<CustomerDoc> = {
  kind: 'customer',
  idField: 'user_id',
  newId: nameInput,
  fields: {
    alias: name.nullable().optional(),
    blocked: z.boolean().optional(),
    allowed_model_region: name.nullable().optional(),
    default_model: name.nullable().optional(),
    metadata: metadataInput.optional(),
  },
  limits: limitsInputShape,
  referencesTier: true,
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
  apiFields: (doc, plane) => plane.spendToApi({ customer_id: doc.user_id }, doc.budget_duration),
  info: 'one',
};

const tagSpec: SimpleSpec<TagDoc> = {
  kind: 'tag',
  idField: 'name',
  newId: nameInput,
  fields: { description: text.nullable().optional(), models: modelsInput.optional() },
  limits: limitsInputShape,
  referencesTier: true,
  create: (id, now) => ({ ...EMPTY_LIMITS, name: id, description: null, models: [], created_at: now, updated_at: now }),
  apply: (doc, input) => ({ ...doc, ...pick(input, ['description', 'models']) }),
  apiFields: (doc, plane) => plane.spendToApi({ tag: doc.name }, doc.budget_duration),
  info: 'by_id',
};

const { budget_id: _tierReference, ...tierLimits } = limitsInputShape;

const budgetSpec: SimpleSpec<BudgetDoc> = {
  kind: 'budget',
  idField: 'budget_id',
  newId: nameInput.optional(),
  fields: {},
  limits: tierLimits,
  referencesTier: false,
  create: (id, now) => ({ ...EMPTY_LIMITS, budget_id: id, created_at: now, updated_at: now }),
  // The limits block's budget_id is a reference to a tier; a tier's is its own id, which never changes.
  apply: (doc, _input, before) => ({ ...doc, budget_id: before.budget_id }),
  apiFields: async (doc) => ({ budget_id: doc.budget_id }),
  info: 'list',
};

function pick(input: Input, names: string[]): Input {
  const out: Input = {};
  for (const n of names) if (input[n] !== undefined) out[n] = input[n];
  return out;
}

/** A doc with the input applied (limits, then the kind's own fields), after checking the tier it names. */
async function changed<D extends SimpleDoc>(
  plane: ControlPlane,
  spec: SimpleSpec<D>,
  doc: D,
  input: Input,
): Promise<D> {
  const budgetId = input.budget_id;
  if (spec.referencesTier && typeof budgetId === 'string')
    await plane.requireReference('budget', budgetId, 'budget_id');
  return spec.apply({ ...doc, ...applyLimits(doc, input), updated_at: plane.now().toISOString() }, input, doc);
}

async function toApi<D extends SimpleDoc>(plane: ControlPlane, spec: SimpleSpec<D>, doc: D) {
  return { ...withLimitsToApi(doc as D & LimitsDoc), ...(await spec.apiFields(doc, plane)) };
}

/** /<kind>/new and /<kind>/update. */
function registerWrites<D extends SimpleDoc>(app: FastifyInstance, plane: ControlPlane, spec: SimpleSpec<D>): void {
  const { kind, idField } = spec;
  // A new id follows the name rule; ids that look an entry up stay plain strings (see fields.ts).
  const newSchema = z.strictObject({ ...spec.fields, ...spec.limits, [idField]: spec.newId });
  const updateSchema = z.strictObject({ ...spec.fields, ...spec.limits, [idField]: lookupId.max(256) });

  app.post(`/${kind}/new`, async (request) => {
    const input = parseInput(newSchema, request.body) as Input;
    const newId = (input[idField] as string | undefined) ?? crypto.randomUUID();
    return plane.withLocks([`${kind}:${newId}`], async () => {
      if (await plane.store.get(kind, newId)) {
        throw new AppError('conflict', `${idField}: ${kind} ${quoted(newId)} already exists`, {
          param: idField,
        });
      }
      const doc = await changed(plane, spec, spec.create(newId, plane.now().toISOString()), input);
      await plane.write(kind, { put: [doc] });
      return toApi(plane, spec, doc);
    });
  });

  app.post(`/${kind}/update`, async (request) => {
    const input = parseInput(updateSchema, request.body) as Input;
    const current = (await plane.require(kind, input[idField] as string, idField)) as D;
    const doc = await changed(plane, spec, current, input);
    await plane.write(kind, { put: [doc] });
    return toApi(plane, spec, doc);
  });
}

/** /<kind>/delete. LiteLLM: customers delete by {user_ids}, tags by {name} (or names), tiers by {id}. */
function registerDelete(
  app: FastifyInstance,
  plane: ControlPlane,
  { kind, idField }: Pick<SimpleSpec<SimpleDoc>, 'kind' | 'idField'>,
): void {
  const id = lookupId.max(256);
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
}

/** The ids an /info request names, in any of LiteLLM's spellings. */
function infoIds(idField: string, q: Input): string[] {
  const wellFormed = (ids: string[]): string[] => {
    if (ids.every((one) => one.isWellFormed())) return ids;
    throw new AppError('bad_request', `${idField}: must be valid Unicode (found a lone surrogate)`, { param: idField });
  };
  const many = q.names ?? q.budgets ?? q.user_ids;
  if (Array.isArray(many)) return wellFormed(many.map(String));
  const one = q[idField] ?? q.end_user_id ?? q.name ?? q.budget_id;
  if (typeof one === 'string' && one) return wellFormed([one]);
  throw new AppError('bad_request', `${idField}: required`, { param: idField });
}

/** /<kind>/info (GET and POST) and /<kind>/list. */
function registerReads<D extends SimpleDoc>(app: FastifyInstance, plane: ControlPlane, spec: SimpleSpec<D>): void {
  const { kind, idField } = spec;
  const info = async (ids: string[]) => {
    const docs = await Promise.all(ids.map((one) => plane.require(kind, one, idField) as Promise<D>));
    const shaped = await Promise.all(docs.map((doc) => toApi(plane, spec, doc)));
    if (spec.info === 'by_id') return Object.fromEntries(shaped.map((s, i) => [ids[i], s]));
    return spec.info === 'list' ? shaped : shaped[0];
  };
  app.get(`/${kind}/info`, async (request) => info(infoIds(idField, request.query as Input)));
  app.post(`/${kind}/info`, async (request) => info(infoIds(idField, (request.body ?? {}) as Input)));

  app.get(`/${kind}/list`, async () => {
    const { docs } = await plane.store.list(kind, {});
    return Promise.all((docs as D[]).map((doc) => toApi(plane, spec, doc)));
  });
}

function registerSimple<D extends SimpleDoc>(app: FastifyInstance, plane: ControlPlane, spec: SimpleSpec<D>): void {
  registerWrites(app, plane, spec);
  registerDelete(app, plane, spec);
  registerReads(app, plane, spec);
}

export default async function simpleEntityRoutes(app: FastifyInstance, opts: { plane: ControlPlane }): Promise<void> {
  app.addHook('preHandler', async (request) => {
    await requireAdmin(app, request);
  });
  registerSimple(app, opts.plane, customerSpec);
  registerSimple(app, opts.plane, tagSpec);
  registerSimple(app, opts.plane, budgetSpec);
}
