// A local fake of OpenAI's Files and Batches API speaking its wire format
// (https://platform.openai.com/docs/api-reference/batch): multipart `POST /v1/files`, `GET /v1/files/{id}`,
// `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`, `POST /v1/batches`, `GET /v1/batches/{id}`,
// `POST /v1/batches/{id}/cancel`, Bearer auth and OpenAI's error envelope. A batch never runs by itself:
// the test ends it (`finish`) with the usage each line reports, or cancels / expires it part-way, and the
// fake writes the output and error files exactly as OpenAI does. Every request is recorded.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Response } from 'undici';

export interface LineUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

/** How a line ends: usage (a 200 answer) or an error status (a 4xx in the output file, as OpenAI does). */
export type LineOutcome = { usage: LineUsage } | { status: number; message: string };

interface StoredFile {
  object: Record<string, unknown>;
  content: Buffer;
}

export interface FakeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FakeOpenAIBatches {
  /** `http://127.0.0.1:<port>/v1`: the deployments' api_base. */
  apiBase: string;
  apiKey: string;
  requests: FakeRequest[];
  /** The content of a file as the fake holds it (what the proxy uploaded). */
  fileContent(id: string): string;
  batch(id: string): Record<string, unknown>;
  /** Runs every line (`outcome` per custom_id) and completes the batch. */
  finish(batchId: string, outcome: (customId: string, index: number) => LineOutcome): void;
  /** Ends the batch as `cancelled` or `expired` after running the first `ran` lines. */
  stop(batchId: string, status: 'cancelled' | 'expired', ran: number, outcome: (customId: string) => LineOutcome): void;
  close(): Promise<void>;
}

const NOW = 1_765_000_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, message: string): void {
  send(res, 404, { error: { message, type: 'invalid_request_error', param: null, code: null } });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function chatBody(customId: string, model: string, usage: LineUsage) {
  return {
    id: `chatcmpl-${customId}`,
    object: 'chat.completion',
    created: NOW,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.prompt_tokens + usage.completion_tokens,
      prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0 },
      completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens ?? 0 },
    },
    system_fingerprint: 'fp_fake',
  };
}

export async function startFakeOpenAIBatches(apiKey = 'sk-fake-openai-batches'): Promise<FakeOpenAIBatches> {
  const files = new Map<string, StoredFile>();
  const batches = new Map<string, Record<string, unknown>>();
  const requests: FakeRequest[] = [];
  let sequence = 0;
  const nextId = (prefix: string) => `${prefix}${(++sequence).toString().padStart(6, '0')}fake`;

  function storeFile(content: Buffer, filename: string, purpose: string): Record<string, unknown> {
    const object = {
      id: nextId('file-'),
      object: 'file',
      bytes: content.length,
      created_at: NOW + sequence,
      filename,
      purpose,
      status: 'processed',
    };
    files.set(object.id, { object, content });
    return object;
  }

  function inputLines(batch: Record<string, unknown>) {
    const file = files.get(String(batch.input_file_id));
    if (!file) throw new Error('input file gone');
    return file.content
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { custom_id: string; body: { model: string } });
  }

  /** Output and error files from the lines that ran; the rest get `notRun` as their error code. */
  function writeResults(
    batchId: string,
    ran: number,
    outcome: (customId: string, index: number) => LineOutcome,
    notRun: string | null,
  ) {
    const batch = batches.get(batchId);
    if (!batch) throw new Error(`no batch ${batchId}`);
    const output: string[] = [];
    const errors: string[] = [];
    let completed = 0;
    const lines = inputLines(batch);
    lines.forEach((line, index) => {
      const id = `batch_req_${batchId}_${index}`;
      if (index >= ran) {
        const message =
          notRun === 'batch_expired'
            ? 'This request could not be executed before the completion window expired.'
            : 'This request was not executed because the batch was cancelled.';
        errors.push(
          JSON.stringify({ id, custom_id: line.custom_id, response: null, error: { code: notRun, message } }),
        );
        return;
      }
      const result = outcome(line.custom_id, index);
      if ('usage' in result) {
        completed++;
        const body = chatBody(line.custom_id, `${line.body.model}-2024-07-18`, result.usage);
        output.push(
          JSON.stringify({
            id,
            custom_id: line.custom_id,
            response: { status_code: 200, request_id: `req_${index}`, body },
            error: null,
          }),
        );
      } else {
        const body = { error: { message: result.message, type: 'invalid_request_error', param: null, code: null } };
        errors.push(
          JSON.stringify({
            id,
            custom_id: line.custom_id,
            response: { status_code: result.status, request_id: `req_${index}`, body },
            error: null,
          }),
        );
      }
    });
    const outFile = output.length
      ? storeFile(Buffer.from(`${output.join('\n')}\n`), 'batch_output.jsonl', 'batch_output')
      : null;
    const errFile = errors.length
      ? storeFile(Buffer.from(`${errors.join('\n')}\n`), 'batch_errors.jsonl', 'batch_output')
      : null;
    Object.assign(batch, {
      output_file_id: outFile?.id ?? null,
      error_file_id: errFile?.id ?? null,
      request_counts: { total: lines.length, completed, failed: lines.length - completed },
      in_progress_at: NOW + 1,
      finalizing_at: NOW + 100,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    requests.push({ method, path, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      send(res, 401, {
        error: {
          message: 'Incorrect API key provided',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      return;
    }
    const fileMatch = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    const batchMatch = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (method === 'POST' && path === '/v1/files') {
      const form = await new Response(await readBody(req), {
        headers: { 'content-type': String(req.headers['content-type']) },
      }).formData();
      const file = form.get('file');
      if (!file || typeof file === 'string')
        return send(res, 400, {
          error: { message: 'file required', type: 'invalid_request_error', param: 'file', code: null },
        });
      send(res, 200, storeFile(Buffer.from(await file.arrayBuffer()), file.name, String(form.get('purpose'))));
    } else if (fileMatch) {
      const id = fileMatch[1] ?? '';
      const file = files.get(id);
      if (!file) return notFound(res, `No such File object: ${id}`);
      if (method === 'DELETE') {
        files.delete(id);
        send(res, 200, { id, object: 'file', deleted: true });
      } else if (fileMatch[2]) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(file.content);
      } else send(res, 200, file.object);
    } else if (method === 'POST' && path === '/v1/batches') {
      const body = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, unknown>;
      if (!files.has(String(body.input_file_id)))
        return notFound(res, `No such File object: ${String(body.input_file_id)}`);
      const batch: Record<string, unknown> = {
        id: nextId('batch_'),
        object: 'batch',
        endpoint: body.endpoint,
        errors: null,
        input_file_id: body.input_file_id,
        completion_window: body.completion_window,
        status: 'validating',
        output_file_id: null,
        error_file_id: null,
        created_at: NOW,
        in_progress_at: null,
        expires_at: NOW + 86_400,
        finalizing_at: null,
        completed_at: null,
        failed_at: null,
        expired_at: null,
        cancelling_at: null,
        cancelled_at: null,
        request_counts: { total: 0, completed: 0, failed: 0 },
        metadata: body.metadata ?? null,
      };
      batches.set(String(batch.id), batch);
      send(res, 200, batch);
    } else if (batchMatch) {
      const batch = batches.get(batchMatch[1] ?? '');
      if (!batch) return notFound(res, `No batch found with id '${batchMatch[1]}'`);
      if (batchMatch[2] && method === 'POST') Object.assign(batch, { status: 'cancelling', cancelling_at: NOW + 50 });
      send(res, 200, batch);
    } else notFound(res, `Unknown route ${method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: { message: String(err), type: 'server_error' } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    apiBase: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    fileContent: (id) => files.get(id)?.content.toString('utf8') ?? '',
    batch: (id) => batches.get(id) ?? {},
    finish(batchId, outcome) {
      writeResults(batchId, Number.MAX_SAFE_INTEGER, outcome, null);
      Object.assign(batches.get(batchId) ?? {}, { status: 'completed', completed_at: NOW + 120 });
    },
    stop(batchId, status, ran, outcome) {
      writeResults(batchId, ran, outcome, status === 'expired' ? 'batch_expired' : 'batch_cancelled');
      const at = status === 'expired' ? { expired_at: NOW + 86_400 } : { cancelled_at: NOW + 60 };
      Object.assign(batches.get(batchId) ?? {}, { status, ...at });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
