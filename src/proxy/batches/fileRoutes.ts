// /v1/files for batch input files: upload (multipart, checked and rewritten: inputFile.ts), list, retrieve,
// content and delete. A batch's output and error files are reachable here by the key that created it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FormData, Response } from 'undici';
import type { BatchStore } from '../../batches/store.js';
import { type BatchTarget, failedAnswer } from '../../batches/upstream.js';
import { checkId, fileObjectSchema } from '../../batches/wire.js';
import { AppError, badRequest } from '../../errors.js';
import { accountOf } from './accounts.js';
import { type BatchRouteDeps, listBody, mayAccess, notFound, readPage } from './context.js';
import { checkInputFile } from './inputFile.js';

/** Largest batch input file accepted (OpenAI's limit is 200 MB; the proxy holds a file in memory to check it). */
export const MAX_BATCH_FILE_BYTES = 100 * 1024 * 1024;
const MAX_FILENAME = 255;

async function readUpload(request: FastifyRequest): Promise<{ bytes: Buffer; filename: string; purpose: string }> {
  let form: Awaited<ReturnType<Response['formData']>>;
  try {
    const body = request.body as Buffer;
    form = await new Response(body, {
      headers: { 'content-type': String(request.headers['content-type']) },
    }).formData();
  } catch {
    throw badRequest('file', 'expected a multipart/form-data body with the fields `file` and `purpose`');
  }
  const purpose = form.get('purpose');
  if (purpose !== 'batch') throw badRequest('purpose', 'only "batch" files are accepted here');
  const file = form.get('file');
  if (file === null || typeof file === 'string') throw badRequest('file', 'required (a file part)');
  const filename = (file.name || 'batch.jsonl').slice(0, MAX_FILENAME);
  return { bytes: Buffer.from(await file.arrayBuffer()), filename, purpose };
}

/** The account and owner of a file this key may see: an input file, or an output/error file of its batch. */
async function ownedFile(store: BatchStore, deps: BatchRouteDeps, request: FastifyRequest, id: string) {
  const principal = await deps.authenticate(request);
  const input = await store.getFile(id);
  if (input && mayAccess(principal, input.key_hash))
    return { kind: 'input' as const, doc: input, upstreamId: input.upstream_id };
  const output = input ? null : await store.getOutput(id);
  if (output && mayAccess(principal, output.key_hash))
    return { kind: 'output' as const, doc: output, upstreamId: output.upstream_id };
  throw notFound('file', id);
}

export function registerFileRoutes(
  app: FastifyInstance,
  deps: BatchRouteDeps,
  accounts: (id: string) => BatchTarget | null,
) {
  const { store, upstream } = deps;
  const accountFor = (upstreamId: string) => {
    const account = accounts(upstreamId);
    if (!account)
      throw new AppError('conflict', 'the OpenAI deployment this file was uploaded to is no longer configured');
    return account;
  };
  const fileId = (request: FastifyRequest) => checkId((request.params as { id?: unknown }).id, 'file_id');

  app.post('/files', { bodyLimit: MAX_BATCH_FILE_BYTES }, async (request, reply) => {
    const principal = await deps.authenticate(request);
    const upload = await readUpload(request);
    const checked = await checkInputFile(upload.bytes, { principal, router: deps.router, now: new Date() });
    const account = accountOf(checked.deployment);
    const form = new FormData();
    form.append('purpose', upload.purpose);
    form.append('file', new Blob([new Uint8Array(checked.content)], { type: 'application/jsonl' }), upload.filename);
    const file = await upstream.json(account, 'POST', '/files', fileObjectSchema, { form });
    await store.putFile(
      {
        id: file.id,
        key_hash: principal.keyHash,
        upstream_id: account.id,
        model: checked.model,
        endpoint: checked.endpoint,
        lines: checked.lines,
        worst_case_nano: checked.worstCaseNano,
        file,
      },
      'active',
    );
    return reply.send(file);
  });

  app.get('/files', async (request, reply) => {
    const principal = await deps.authenticate(request);
    const { files, hasMore } = await store.listFiles(readPage(principal, request.query));
    return reply.send(listBody(files, hasMore));
  });

  app.get('/files/:id', async (request, reply) => {
    const id = fileId(request);
    const owned = await ownedFile(store, deps, request, id);
    return reply.send(await upstream.json(accountFor(owned.upstreamId), 'GET', `/files/${id}`, fileObjectSchema));
  });

  app.get('/files/:id/content', async (request, reply) => {
    const id = fileId(request);
    const owned = await ownedFile(store, deps, request, id);
    const answer = await upstream.call(accountFor(owned.upstreamId), 'GET', `/files/${id}/content`);
    if (answer.status >= 400) throw failedAnswer(answer);
    return reply.type('application/octet-stream').send(answer.body);
  });

  app.delete('/files/:id', async (request, reply) => {
    const id = fileId(request);
    const owned = await ownedFile(store, deps, request, id);
    const answer = await upstream.call(accountFor(owned.upstreamId), 'DELETE', `/files/${id}`);
    // Already gone upstream is still gone here.
    if (answer.status >= 400 && answer.status !== 404) throw failedAnswer(answer);
    if (owned.kind === 'input') await store.putFile(owned.doc, 'deleted');
    else await store.putOutput(owned.doc, 'deleted');
    return reply.send({ id, object: 'file', deleted: true });
  });
}
