// Chat Completions answer → OpenAI Responses answer, the other half of serving the Responses API from a
// chat-capable deployment: the chat completion becomes a Response object (reasoning → a reasoning item with
// a summary, content → a message item, tool calls → function_call items), and chat stream chunks become the
// Responses typed events (response.created … response.completed). The chat side is whatever the
// deployment's chat exchange produced (a provider's own chat answer, or one translated from Anthropic).
import { randomBytes } from 'node:crypto';
import { type TokenUsage, ZERO_USAGE } from '../../pricing/usage.js';
import { isRecord, type JsonResult, type StreamTap } from '../exchange/types.js';
import { eventJson, type SseEvent, SseParser } from '../sse.js';
import { responsesUsageBody } from './responsesUsage.js';

type Json = Record<string, unknown>;

const itemId = (prefix: string) => `${prefix}_${randomBytes(16).toString('hex')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The Response id: the provider's id behind `resp_`, so a call stays traceable to the provider's logs. */
function responseIdFor(providerId: unknown): string {
  return typeof providerId === 'string' && providerId ? `resp_${providerId}` : itemId('resp');
}

/** Request fields a Response echoes back (OpenAI's defaults when the request left them out). */
function echo(request: Json): Json {
  const pick = (field: string, fallback: unknown) => request[field] ?? fallback;
  return {
    instructions: pick('instructions', null),
    max_output_tokens: pick('max_output_tokens', null),
    parallel_tool_calls: pick('parallel_tool_calls', true),
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    // Kept in the proxy's item store unless the request said false (responsesItemStore.ts).
    store: request.store !== false,
    temperature: pick('temperature', null),
    text: pick('text', { format: { type: 'text' } }),
    tool_choice: pick('tool_choice', 'auto'),
    tools: pick('tools', []),
    top_p: pick('top_p', null),
    truncation: 'disabled',
    user: pick('user', null),
    metadata: {},
  };
}

/** How a chat answer's finish reason ends a Response. */
function ending(finish: unknown): { status: string; incomplete_details: Json | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

interface ResponseHead {
  id: string;
  created_at: number;
  model: unknown;
}

function responseObject(head: ResponseHead, request: Json, fields: Json): Json {
  return {
    id: head.id,
    object: 'response',
    created_at: head.created_at,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    model: head.model,
    output: [],
    ...echo(request),
    usage: null,
    ...fields,
  };
}

const reasoningItem = (id: string, text: string) => ({
  type: 'reasoning',
  id,
  summary: text ? [{ type: 'summary_text', text }] : [],
});

const outputText = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

const messageItem = (id: string, status: string, content: Json[]) => ({
  type: 'message',
  id,
  status,
  role: 'assistant',
  content,
});

const functionCallItem = (id: string, callId: unknown, name: unknown, args: string, status: string) => ({
  type: 'function_call',
  id,
  call_id: callId,
  name,
  arguments: args,
  status,
});

/** The Response for a chat completion (the chat exchange's JSON result). */
export function responseFromChatResult(chat: JsonResult, request: Json): JsonResult {
  let completion: Json = {};
  try {
    const parsed: unknown = JSON.parse(chat.body);
    if (isRecord(parsed)) completion = parsed;
  } catch {
    // A chat exchange always yields JSON; an empty answer below is the fallback.
  }
  const choice = Array.isArray(completion.choices) && isRecord(completion.choices[0]) ? completion.choices[0] : {};
  const message = isRecord(choice.message) ? choice.message : {};
  const output: Json[] = [];
  if (typeof message.reasoning_content === 'string' && message.reasoning_content) {
    output.push(reasoningItem(itemId('rs'), message.reasoning_content));
  }
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content) content.push(outputText(message.content));
  if (typeof message.refusal === 'string' && message.refusal)
    content.push({ type: 'refusal', refusal: message.refusal });
  if (content.length) output.push(messageItem(itemId('msg'), 'completed', content));
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const args = typeof call.function.arguments === 'string' ? call.function.arguments : '';
    output.push(functionCallItem(itemId('fc'), call.id, call.function.name, args, 'completed'));
  }
  const id = responseIdFor(chat.responseId ?? completion.id);
  const head = {
    id,
    created_at: typeof completion.created === 'number' ? completion.created : nowSeconds(),
    model: completion.model,
  };
  const response = responseObject(head, request, {
    ...ending(choice.finish_reason),
    output,
    usage: responsesUsageBody(chat.usage ?? ZERO_USAGE),
  });
  return { ...chat, body: JSON.stringify(response), responseId: id, outputItems: output };
}

/** One Responses stream frame: the event name repeats the payload's type, as OpenAI sends it. */
export function responsesFrame(payload: Json): string {
  return `event: ${String(payload.type)}\ndata: ${JSON.stringify(payload)}\n\n`;
}

interface OpenItem {
  kind: 'reasoning' | 'message' | 'function_call';
  id: string;
  outputIndex: number;
  text: string;
  /** message: the content part holding the text (output_text or refusal). */
  part?: 'output_text' | 'refusal';
  callId?: unknown;
  name?: unknown;
}

/**
 * Turns the chat exchange's stream (OpenAI chat chunks, whatever the provider) into Responses events. Items
 * stay open until the chat stream finishes, then close in output order before `response.completed` (or
 * `response.incomplete` when the output limit cut the answer), which carries the usage.
 */
export function responsesStreamFromChat(chat: StreamTap, request: Json): StreamTap {
  const parser = new SseParser();
  const items: OpenItem[] = [];
  const toolItems = new Map<number, OpenItem>();
  let head: ResponseHead | null = null;
  let sequence = 0;
  let finish: unknown = null;
  let finished = false;
  /** The output items once the Response completed (or was cut short); null while open or when it failed. */
  let completedOutput: Json[] | null = null;
  let closedOutput: Json[] = [];

  const emit = (out: string[], payload: Json) => out.push(responsesFrame({ ...payload, sequence_number: sequence++ }));

  function start(out: string[], chunk: Json): ResponseHead {
    const created = typeof chunk.created === 'number' ? chunk.created : nowSeconds();
    const begun = { id: responseIdFor(chunk.id), created_at: created, model: chunk.model };
    const response = responseObject(begun, request, {});
    emit(out, { type: 'response.created', response });
    emit(out, { type: 'response.in_progress', response });
    return begun;
  }

  function open(out: string[], kind: OpenItem['kind'], extra: Partial<OpenItem> = {}): OpenItem {
    const prefix = kind === 'reasoning' ? 'rs' : kind === 'message' ? 'msg' : 'fc';
    const item: OpenItem = { kind, id: itemId(prefix), outputIndex: items.length, text: '', ...extra };
    items.push(item);
    const output_index = item.outputIndex;
    if (kind === 'reasoning') {
      emit(out, { type: 'response.output_item.added', output_index, item: reasoningItem(item.id, '') });
      const part = { type: 'summary_text', text: '' };
      emit(out, {
        type: 'response.reasoning_summary_part.added',
        item_id: item.id,
        output_index,
        summary_index: 0,
        part,
      });
    } else if (kind === 'message') {
      emit(out, { type: 'response.output_item.added', output_index, item: messageItem(item.id, 'in_progress', []) });
      const part = item.part === 'refusal' ? { type: 'refusal', refusal: '' } : outputText('');
      emit(out, { type: 'response.content_part.added', item_id: item.id, output_index, content_index: 0, part });
    } else {
      const added = functionCallItem(item.id, item.callId, item.name, '', 'in_progress');
      emit(out, { type: 'response.output_item.added', output_index, item: added });
    }
    return item;
  }

  /** The open message item for a content kind (text and refusal are separate messages when both occur). */
  function messageFor(out: string[], part: 'output_text' | 'refusal'): OpenItem {
    const found = items.find((item) => item.kind === 'message' && item.part === part);
    return found ?? open(out, 'message', { part });
  }

  function onDelta(out: string[], delta: Json): void {
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content) {
      const item = items.find((i) => i.kind === 'reasoning') ?? open(out, 'reasoning');
      item.text += delta.reasoning_content;
      const event = { item_id: item.id, output_index: item.outputIndex, summary_index: 0 };
      emit(out, { type: 'response.reasoning_summary_text.delta', ...event, delta: delta.reasoning_content });
    }
    if (typeof delta.content === 'string' && delta.content) {
      const item = messageFor(out, 'output_text');
      item.text += delta.content;
      const event = { item_id: item.id, output_index: item.outputIndex, content_index: 0 };
      emit(out, { type: 'response.output_text.delta', ...event, delta: delta.content, logprobs: [] });
    }
    if (typeof delta.refusal === 'string' && delta.refusal) {
      const item = messageFor(out, 'refusal');
      item.text += delta.refusal;
      const event = { item_id: item.id, output_index: item.outputIndex, content_index: 0 };
      emit(out, { type: 'response.refusal.delta', ...event, delta: delta.refusal });
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (!isRecord(call)) continue;
      const index = typeof call.index === 'number' ? call.index : 0;
      const fn = isRecord(call.function) ? call.function : {};
      let item = toolItems.get(index);
      if (!item) {
        item = open(out, 'function_call', { callId: call.id, name: fn.name });
        toolItems.set(index, item);
      }
      if (typeof fn.arguments === 'string' && fn.arguments) {
        item.text += fn.arguments;
        const event = { item_id: item.id, output_index: item.outputIndex, delta: fn.arguments };
        emit(out, { type: 'response.function_call_arguments.delta', ...event });
      }
    }
  }

  /** Closes every item, in output order, and returns the finished output array. */
  function closeItems(out: string[]): Json[] {
    return items.map((item) => {
      const output_index = item.outputIndex;
      const ids = { item_id: item.id, output_index };
      let done: Json;
      if (item.kind === 'reasoning') {
        const part = { type: 'summary_text', text: item.text };
        emit(out, { type: 'response.reasoning_summary_text.done', ...ids, summary_index: 0, text: item.text });
        emit(out, { type: 'response.reasoning_summary_part.done', ...ids, summary_index: 0, part });
        done = reasoningItem(item.id, item.text);
      } else if (item.kind === 'message') {
        const part = item.part === 'refusal' ? { type: 'refusal', refusal: item.text } : outputText(item.text);
        if (item.part === 'refusal') {
          emit(out, { type: 'response.refusal.done', ...ids, content_index: 0, refusal: item.text });
        } else {
          emit(out, { type: 'response.output_text.done', ...ids, content_index: 0, text: item.text, logprobs: [] });
        }
        emit(out, { type: 'response.content_part.done', ...ids, content_index: 0, part });
        done = messageItem(item.id, 'completed', [part]);
      } else {
        emit(out, { type: 'response.function_call_arguments.done', ...ids, name: item.name, arguments: item.text });
        done = functionCallItem(item.id, item.callId, item.name, item.text, 'completed');
      }
      emit(out, { type: 'response.output_item.done', output_index, item: done });
      return done;
    });
  }

  function finishStream(out: string[], failure: Json | null): void {
    if (finished) return;
    finished = true;
    head ??= start(out, {});
    const output = closeItems(out);
    closedOutput = output;
    const usage: TokenUsage = chat.usage().usage ?? ZERO_USAGE;
    if (failure) {
      const response = responseObject(head, request, { status: 'failed', error: failure, output });
      emit(out, { type: 'response.failed', response });
      return;
    }
    completedOutput = output;
    const end = ending(finish);
    const response = responseObject(head, request, { ...end, output, usage: responsesUsageBody(usage) });
    emit(out, { type: end.status === 'completed' ? 'response.completed' : 'response.incomplete', response });
  }

  function translate(event: SseEvent): string[] {
    const out: string[] = [];
    if (finished) return out;
    if (event.data === '[DONE]') {
      finishStream(out, null);
      return out;
    }
    const chunk = eventJson(event);
    if (!chunk) return out;
    head ??= start(out, chunk);
    if (isRecord(chunk.error)) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'the model provider failed';
      finishStream(out, { code: 'server_error', message });
      return out;
    }
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice.delta)) onDelta(out, choice.delta);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    return out;
  }

  const fromChatFrames = (frames: string[]) => frames.flatMap((f) => parser.push(f)).flatMap(translate);

  return {
    onEvent: (event) => fromChatFrames(chat.onEvent(event)),
    end() {
      const out = fromChatFrames(chat.end());
      out.push(...parser.finish().flatMap(translate));
      // A chat stream that stopped without its end marker: finished if the provider said how it ended.
      if (!finished) {
        if (finish !== null) finishStream(out, null);
        else finishStream(out, { code: 'server_error', message: 'the model provider ended the stream early' });
      }
      return out;
    },
    usage: () => chat.usage(),
    responseId: () => head?.id ?? null,
    text: () => chat.text(),
    outputItems: () => completedOutput,
    failed(error) {
      const out: string[] = [];
      if (!finished) {
        finishStream(out, error);
        return out;
      }
      // The stream had ended but its terminal event was held back (the proxy failed before the last byte).
      completedOutput = null;
      head ??= start(out, {});
      const response = responseObject(head, request, { status: 'failed', error, output: closedOutput });
      emit(out, { type: 'response.failed', response });
      return out;
    },
  };
}
