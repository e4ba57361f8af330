// A scripted fake LLM provider for the tools / structured-output / SDK-matrix tests: a real HTTP server that
// speaks OpenAI chat completions (JSON and SSE, parallel tool calls with argument deltas, n > 1, the usage
// chunk only when `stream_options.include_usage` asks) and Anthropic Messages (JSON and SSE with text,
// thinking and tool_use blocks, input_json_delta) plus Anthropic's count_tokens. What it answers is decided
// per request by a script, so a test can play a tool loop (call a tool, then answer from its result).
// Every request is recorded. src/mock/fakeUpstream.ts stays the simple fake the other tests use.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  name: string;
  /** The arguments as JSON text (streamed in small pieces). */
  arguments: string;
}

export interface ScriptedAnswer {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  /** Further OpenAI choices' texts (n > 1); Anthropic answers ignore them. */
  moreChoices?: string[];
  /** OpenAI streams: repeat each tool call's id and name on every argument delta (as some vLLM builds do). */
  repeatToolCallIds?: boolean;
  /** Reported usage: input tokens (all of them) and output tokens (all choices). */
  usage: { input: number; output: number };
}

export interface ScriptedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type Script = (request: ScriptedRequest) => ScriptedAnswer;

export interface ScriptedProvider {
  url: string;
  requests: ScriptedRequest[];
  /** The id of every answer served, in order (`chatcmpl-sN` / `msg_sN`): the records' response_id. */
  responseIds: string[];
  /** The answer to every following request. */
  answer(script: Script | ScriptedAnswer): void;
  /** What count_tokens answers (input_tokens). */
  countTokens: number;
  close(): Promise<void>;
}

/** Text split into small deltas (whole on concatenation), as providers stream it. */
export function pieces(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const frame = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
const anthropicFrame = (payload: { type: string; [field: string]: unknown }) =>
  `event: ${payload.type}\n${frame(payload)}`;

function openAIJson(body: Record<string, unknown>, a: ScriptedAnswer, id: string) {
  const toolCalls = a.toolCalls?.map((call, i) => ({
    id: `call_${id}_${i}`,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  const first = {
    index: 0,
    message: {
      role: 'assistant',
      content: a.text ?? null,
      refusal: null,
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
    },
    logprobs: null,
    finish_reason: toolCalls ? 'tool_calls' : 'stop',
  };
  const more = (a.moreChoices ?? []).map((text, i) => ({
    index: i + 1,
    message: { role: 'assistant', content: text, refusal: null },
    logprobs: null,
    finish_reason: 'stop',
  }));
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: body.model,
    choices: [first, ...more],
    usage: {
      prompt_tokens: a.usage.input,
      completion_tokens: a.usage.output,
      total_tokens: a.usage.input + a.usage.output,
    },
  };
}

function openAIFrames(body: Record<string, unknown>, a: ScriptedAnswer, id: string): string[] {
  const base = { id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model };
  const chunk = (delta: unknown, finish: string | null = null, index = 0) =>
    frame({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }] });
  const frames = [chunk({ role: 'assistant', content: '' })];
  for (const text of pieces(a.text ?? '')) frames.push(chunk({ content: text }));
  a.toolCalls?.forEach((call, i) => {
    const head = { index: i, id: `call_${id}_${i}`, type: 'function', function: { name: call.name, arguments: '' } };
    frames.push(chunk({ tool_calls: [head] }));
    for (const part of pieces(call.arguments)) {
      const delta = a.repeatToolCallIds
        ? { ...head, function: { name: call.name, arguments: part } }
        : { index: i, function: { arguments: part } };
      frames.push(chunk({ tool_calls: [delta] }));
    }
  });
  frames.push(chunk({}, a.toolCalls?.length ? 'tool_calls' : 'stop'));
  (a.moreChoices ?? []).forEach((text, i) => {
    frames.push(chunk({ role: 'assistant', content: text }, null, i + 1), chunk({}, 'stop', i + 1));
  });
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  if (options?.include_usage === true) {
    const usage = {
      prompt_tokens: a.usage.input,
      completion_tokens: a.usage.output,
      total_tokens: a.usage.input + a.usage.output,
    };
    frames.push(frame({ ...base, choices: [], usage }));
  }
  frames.push('data: [DONE]\n\n');
  return frames;
}

function anthropicContent(a: ScriptedAnswer, id: string) {
  const content: Record<string, unknown>[] = [];
  if (a.text) content.push({ type: 'text', text: a.text });
  a.toolCalls?.forEach((call, i) => {
    content.push({ type: 'tool_use', id: `toolu_${id}_${i}`, name: call.name, input: JSON.parse(call.arguments) });
  });
  return content;
}

function anthropicJson(body: Record<string, unknown>, a: ScriptedAnswer, id: string) {
  return {
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: anthropicContent(a, id),
    stop_reason: a.toolCalls?.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: a.usage.input, output_tokens: a.usage.output },
  };
}

function anthropicFrames(body: Record<string, unknown>, a: ScriptedAnswer, id: string): string[] {
  const message = { id: `msg_${id}`, type: 'message', role: 'assistant', model: body.model, content: [] };
  const frames = [
    anthropicFrame({
      type: 'message_start',
      message: {
        ...message,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: a.usage.input, output_tokens: 1 },
      },
    }),
  ];
  let index = 0;
  if (a.text) {
    frames.push(anthropicFrame({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    for (const text of pieces(a.text)) {
      frames.push(anthropicFrame({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
    }
    frames.push(anthropicFrame({ type: 'content_block_stop', index }));
    index += 1;
  }
  a.toolCalls?.forEach((call, i) => {
    const block = { type: 'tool_use', id: `toolu_${id}_${i}`, name: call.name, input: {} };
    frames.push(anthropicFrame({ type: 'content_block_start', index, content_block: block }));
    for (const partial_json of pieces(call.arguments)) {
      frames.push(
        anthropicFrame({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }),
      );
    }
    frames.push(anthropicFrame({ type: 'content_block_stop', index }));
    index += 1;
  });
  frames.push(
    anthropicFrame({
      type: 'message_delta',
      delta: { stop_reason: a.toolCalls?.length ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: a.usage.output },
    }),
    anthropicFrame({ type: 'message_stop' }),
  );
  return frames;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

export async function startScriptedProvider(): Promise<ScriptedProvider> {
  let script: Script = () => ({ text: 'hello', usage: { input: 10, output: 2 } });
  const requests: ScriptedRequest[] = [];
  const responseIds: string[] = [];
  let served = 0;
  const provider: ScriptedProvider = {
    url: '',
    requests,
    responseIds,
    countTokens: 0,
    answer(next) {
      script = typeof next === 'function' ? next : () => next;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readJson(req);
    const request = { path, headers: req.headers, body };
    requests.push(request);
    const send = (payload: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (path === '/v1/messages/count_tokens') return send({ input_tokens: provider.countTokens });
    const anthropic = path === '/v1/messages';
    if (!anthropic && path !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error' } }));
      return;
    }
    served += 1;
    const id = `s${served}`;
    responseIds.push(anthropic ? `msg_${id}` : `chatcmpl-${id}`);
    const answer = script(request);
    if (body.stream !== true) return send(anthropic ? anthropicJson(body, answer, id) : openAIJson(body, answer, id));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const frames = anthropic ? anthropicFrames(body, answer, id) : openAIFrames(body, answer, id);
    for (const f of frames) res.write(f);
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err), type: 'scripted_provider_bug' } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}
