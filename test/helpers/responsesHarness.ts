// For the Responses API tests: a fake OpenAI provider serving the native /v1/responses endpoint (and
// Azure's /openai/v1/responses) with the wire format OpenAI sends — a Response object, or its typed SSE
// events — beside the shared chat/messages fake; and a real app (ingest worker on) whose records are read
// back from ClickHouse.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { z } from 'zod';
import { sql } from '../../src/clickhouse/sql.js';
import { type FakeUpstream, startFakeUpstream } from '../../src/mock/fakeUpstream.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './testApp.js';

export interface NativeReply {
  text?: string;
  toolCalls?: { name: string; arguments: string }[];
  usage: { input: number; cached: number; output: number; reasoning: number };
}

export interface FakeResponses {
  url: string;
  requests: { path: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }[];
  reply: NativeReply;
  close(): Promise<void>;
}

const hex = () => Math.random().toString(16).slice(2).padEnd(12, '0');

function nativeResponse(model: unknown, reply: NativeReply, id: string) {
  const output: Record<string, unknown>[] = [];
  if (reply.text !== undefined) {
    output.push({
      id: `msg_${hex()}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of reply.toolCalls ?? []) {
    output.push({ id: `fc_${hex()}`, type: 'function_call', status: 'completed', call_id: `call_${hex()}`, ...call });
  }
  const { input, cached, output: out, reasoning } = reply.usage;
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    error: null,
    incomplete_details: null,
    model,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: cached },
      output_tokens: out,
      output_tokens_details: { reasoning_tokens: reasoning },
      total_tokens: input + out,
    },
  };
}

/** The events OpenAI streams for a Response, in its order, each with its sequence number. */
function nativeEvents(response: ReturnType<typeof nativeResponse>): string[] {
  let sequence = 0;
  const frames: string[] = [];
  const emit = (payload: Record<string, unknown>) =>
    frames.push(`event: ${payload.type}\ndata: ${JSON.stringify({ ...payload, sequence_number: sequence++ })}\n\n`);
  const begun = { ...response, status: 'in_progress', output: [], usage: null };
  emit({ type: 'response.created', response: begun });
  emit({ type: 'response.in_progress', response: begun });
  response.output.forEach((item, output_index) => {
    if (item.type === 'message') {
      const text = (item.content as { text: string }[])[0]?.text ?? '';
      emit({ type: 'response.output_item.added', output_index, item: { ...item, status: 'in_progress', content: [] } });
      const ids = { item_id: item.id, output_index, content_index: 0 };
      emit({ type: 'response.content_part.added', ...ids, part: { type: 'output_text', text: '', annotations: [] } });
      for (const delta of text.match(/\s*\S+\s*/g) ?? []) {
        emit({ type: 'response.output_text.delta', ...ids, delta, logprobs: [] });
      }
      emit({ type: 'response.output_text.done', ...ids, text, logprobs: [] });
      emit({ type: 'response.content_part.done', ...ids, part: (item.content as unknown[])[0] });
    } else {
      const args = String(item.arguments);
      emit({
        type: 'response.output_item.added',
        output_index,
        item: { ...item, status: 'in_progress', arguments: '' },
      });
      emit({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index, delta: args });
      emit({ type: 'response.function_call_arguments.done', item_id: item.id, output_index, arguments: args });
    }
    emit({ type: 'response.output_item.done', output_index, item });
  });
  emit({ type: 'response.completed', response });
  return frames;
}

export async function startFakeResponses(): Promise<FakeResponses> {
  const requests: FakeResponses['requests'] = [];
  const fake: FakeResponses = {
    url: '',
    requests,
    reply: { text: 'Hello from the Responses API.', usage: { input: 10, cached: 0, output: 5, reasoning: 0 } },
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers, body });
    if (!path.split('?')[0]?.endsWith('/responses')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
      return;
    }
    const response = nativeResponse(body.model, fake.reply, `resp_${hex()}${hex()}`);
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const frame of nativeEvents(response)) res.write(frame);
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return fake;
}

const storedRow = z.object({
  request_id: z.string(),
  response_id: z.string(),
  call_type: z.string(),
  status: z.coerce.number(),
  model: z.string(),
  provider: z.string(),
  prompt_tokens: z.coerce.number(),
  completion_tokens: z.coerce.number(),
  cached_tokens: z.coerce.number(),
  cache_write_tokens: z.coerce.number(),
  reasoning_tokens: z.coerce.number(),
  cost_nano: z.coerce.number(),
  usage_estimated: z.coerce.number(),
  stream: z.coerce.number(),
});
export type StoredCall = z.infer<typeof storedRow>;

/** A call's row in ClickHouse's spend_logs by its request or response id, waited for (the ingest worker writes it). */
export async function waitForStoredCall(
  warehouse: TestApp['app']['warehouse'],
  by: { requestId?: string | null; responseId?: string | null },
): Promise<StoredCall> {
  const where =
    by.responseId !== undefined ? sql`response_id = ${by.responseId ?? ''}` : sql`request_id = ${by.requestId ?? ''}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await warehouse.rows(
      sql`SELECT request_id, response_id, call_type, status, model, provider, prompt_tokens, completion_tokens,
            cached_tokens, cache_write_tokens, reasoning_tokens, cost_nano, usage_estimated, stream
          FROM spend_logs WHERE ${where}`,
      storedRow,
    );
    if (rows.length > 1) throw new Error(`${rows.length} spend_logs rows for ${JSON.stringify(by)}`);
    if (rows[0]) return rows[0];
    if (Date.now() > deadline) throw new Error(`no spend_logs row for ${JSON.stringify(by)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ResponsesHarness {
  app: TestApp['app'];
  chatFake: FakeUpstream;
  native: FakeResponses;
  origin: string;
  openai(key?: string): OpenAI;
  /** The call's row in ClickHouse's spend_logs, waited for (the ingest worker writes it after the answer). */
  stored(requestId: string | null | undefined): Promise<StoredCall>;
  close(): Promise<void>;
}

/** Models: native OpenAI (catalog-priced gpt-4o-mini), Azure, Anthropic (translated), mock (translated). */
export function responsesModels(chatFake: string, native: string): Record<string, unknown>[] {
  return [
    {
      model_name: 'gpt-4o-mini',
      litellm_params: { model: 'openai/gpt-4o-mini', api_base: `${native}/v1`, api_key: 'sk-upstream-openai' },
    },
    {
      model_name: 'azure-mini',
      litellm_params: { model: 'azure/mini-deploy', api_base: native, api_key: 'sk-azure' },
      model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
    },
    {
      model_name: 'groq-llama',
      litellm_params: { model: 'groq/llama-3.1-8b-instant', api_base: `${chatFake}/v1`, api_key: 'sk-groq' },
      model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
    },
    {
      model_name: 'claude-3-5-sonnet',
      litellm_params: { model: 'anthropic/claude-3-5-sonnet-20241022', api_base: chatFake, api_key: 'sk-ant' },
    },
    { model_name: 'mock-mini', litellm_params: { model: 'mock/gpt-4o-mini' } },
  ];
}

export async function startResponsesHarness(
  extra: Record<string, unknown> = {},
  moreModels: Record<string, unknown>[] = [],
): Promise<ResponsesHarness> {
  const chatFake = await startFakeUpstream();
  const native = await startFakeResponses();
  const t = await startTestApp(
    testConfig({
      model_list: [...responsesModels(chatFake.url, native.url), ...moreModels],
      general_settings: { store_prompts_in_spend_logs: true },
      ...extra,
    }),
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app: t.app,
    chatFake,
    native,
    origin,
    openai: (key = TEST_MASTER_KEY) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: key, maxRetries: 0 }),
    async stored(requestId) {
      if (!requestId) throw new Error('the response carries no x-spend-request-id');
      return waitForStoredCall(t.app.warehouse, { requestId });
    },
    async close() {
      await t.close();
      await chatFake.close();
      await native.close();
    },
  };
}
