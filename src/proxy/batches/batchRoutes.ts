// /v1/batches: create (checked against the input file, reserved against budgets, attributed), retrieve,
// cancel and list. Retrieve and cancel ask OpenAI; list answers from the warehouse (status as of the
// worker's last poll).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { releaseReservation } from '../../batches/poller.js';
import type { BatchTarget } from '../../batches/upstream.js';
import { batchObjectSchema, checkId } from '../../batches/wire.js';
import { AppError, badRequest } from '../../errors.js';
import { readAttribution } from '../call/attribution.js';
import { keyMayUse } from '../deployments.js';
import { isRecord } from '../exchange/types.js';
import { type BatchRouteDeps, listBody, mayAccess, notFound, readPage } from './context.js';
import { reserveBatch } from './reservation.js';

/** OpenAI metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters. */
function upstreamMetadata(metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isRecord(metadata)) throw badRequest('metadata', 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    // `tags` are Spendhouse's (attribution), not OpenAI's.
    if (key === 'tags') continue;
    if (typeof value !== 'string') throw badRequest(`metadata.${key}`, 'must be a string');
    if (key.length > 64 || value.length > 512)
      throw badRequest(`metadata.${key}`, 'keys ≤ 64, values ≤ 512 characters');
    out[key] = value;
  }
  if (Object.keys(out).length > 16) throw badRequest('metadata', 'at most 16 pairs');
  return out;
}

export function registerBatchRoutes(
  app: FastifyInstance,
  deps: BatchRouteDeps,
  accounts: (id: string) => BatchTarget | null,
) {
  const { store, upstream } = deps;
  const batchId = (request: FastifyRequest) => checkId((request.params as { id?: unknown }).id, 'batch_id');

  async function ownedBatch(request: FastifyRequest) {
    const id = batchId(request);
    const principal = await deps.authenticate(request);
    const doc = await store.getBatch(id);
    if (!doc || !mayAccess(principal, doc.attribution.key_hash ?? '')) throw notFound('batch', id);
    const account = accounts(doc.upstream_id);
    if (!account) throw new AppError('conflict', 'the OpenAI deployment of this batch is no longer configured');
    return { id, doc, account };
  }

  app.post('/batches', async (request, reply) => {
    const principal = await deps.authenticate(request);
    const body = request.body;
    if (!isRecord(body)) throw badRequest('body', 'must be a JSON object');
    const fileId = checkId(body.input_file_id, 'input_file_id');
    const file = await store.getFile(fileId);
    if (!file || !mayAccess(principal, file.key_hash)) throw notFound('file', fileId);
    if (body.endpoint !== file.endpoint) throw badRequest('endpoint', `must be ${file.endpoint}, the input file's url`);
    if (body.completion_window !== '24h') throw badRequest('completion_window', 'must be "24h"');
    const metadata = upstreamMetadata(body.metadata);
    const attribution = readAttribution(request.headers, body, principal);
    const deployment = deps.router.resolve(file.model);
    if (!deployment) throw badRequest('input_file_id', `model ${file.model} is no longer served here`);
    if (!keyMayUse(principal.models, file.model)) {
      throw new AppError('forbidden', `this key may not call model ${file.model}`, { param: 'input_file_id' });
    }
    // The batch is created where its file is (a name served by several accounts resolves round-robin).
    const account = accounts(file.upstream_id);
    if (!account)
      throw new AppError('conflict', 'the OpenAI deployment this file was uploaded to is no longer configured');
    const reservationId = deps.budgets
      ? await reserveBatch(deps.budgets, {
          principal,
          model: file.model,
          provider: deployment.provider,
          upstreamModel: deployment.upstreamModel,
          callType: 'batch',
          customerId: attribution.customerId,
          tags: attribution.tags,
          promptTokens: 0,
          maxCompletionTokens: 0,
          maxCostNano: file.worst_case_nano,
          now: new Date(),
        })
      : null;
    let batch: Awaited<ReturnType<typeof upstream.json<typeof batchObjectSchema>>>;
    try {
      const create = { input_file_id: fileId, endpoint: file.endpoint, completion_window: '24h', metadata };
      batch = await upstream.json(account, 'POST', '/batches', batchObjectSchema, { json: create });
    } catch (err) {
      if (reservationId && deps.budgets) await releaseReservation(deps.budgets.ledger, reservationId);
      throw err;
    }
    await store.putBatch(
      {
        id: batch.id,
        upstream_id: account.id,
        model: file.model,
        endpoint: file.endpoint,
        attribution: {
          key_hash: principal.keyHash,
          key_alias: principal.keyAlias,
          user_id: principal.userId,
          team_id: principal.teamId,
          customer_id: attribution.customerId,
          tags: attribution.tags,
          metadata: attribution.metadata,
        },
        reservation_id: reservationId,
        reserved_nano: reservationId ? file.worst_case_nano : 0,
        batch,
        settled: null,
      },
      'pending',
    );
    return reply.send(batch);
  });

  app.get('/batches/:id', async (request, reply) => {
    const { id, doc, account } = await ownedBatch(request);
    const batch = await upstream.json(account, 'GET', `/batches/${id}`, batchObjectSchema);
    await store.noteOutputs(doc, batch);
    return reply.send(batch);
  });

  app.post('/batches/:id/cancel', async (request, reply) => {
    const { id, account } = await ownedBatch(request);
    return reply.send(await upstream.json(account, 'POST', `/batches/${id}/cancel`, batchObjectSchema));
  });

  app.get('/batches', async (request, reply) => {
    const principal = await deps.authenticate(request);
    const { batches, hasMore } = await store.listBatches(readPage(principal, request.query));
    return reply.send(listBody(batches, hasMore));
  });
}
