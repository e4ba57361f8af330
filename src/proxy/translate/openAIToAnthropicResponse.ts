// OpenAI chat answer → Anthropic Messages answer (JSON and event stream), the other half of serving
// OpenAI-compatible models to the Anthropic SDK. Stream chunks become message_start, one content block per
// reasoning run, text run or tool call (parallel calls: one tool_use block each, argument deltas as
// input_json_delta), message_delta (stop reason, output usage) and message_stop. A refusal becomes text
// with stop_reason `refusal`; `reasoning_content` (DeepSeek, vLLM) becomes a thinking block.

import { anthropicUsageBody, usageFromOpenAI, ZERO_USAGE } from '../../pricing/usage.js';
import { openAIJsonResult, openAIStreamTap } from '../exchange/passthrough.js';
import { isRecord, type JsonResult, type StreamTap } from '../exchange/types.js';
import { anthropicFrame, eventJson, type SseEvent } from '../sse.js';

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};
const stopReason = (finish: unknown) =>
  typeof finish === 'string' ? (STOP_REASONS[finish] ?? 'end_turn') : 'end_turn';

function parseArguments(args: unknown): unknown {
  try {
    return typeof args === 'string' && args ? JSON.parse(args) : {};
  } catch {
    return {};
  }
}

export function chatCompletionToMessage(raw: string, completion: Record<string, unknown>): JsonResult {
  const tapped = openAIJsonResult(raw, completion);
  const choice = Array.isArray(completion.choices) && isRecord(completion.choices[0]) ? completion.choices[0] : {};
  const message = isRecord(choice.message) ? choice.message : {};
  const content: unknown[] = [];
  if (typeof message.reasoning_content === 'string' && message.reasoning_content) {
    content.push({ type: 'thinking', thinking: message.reasoning_content, signature: '' });
  }
  if (typeof message.content === 'string' && message.content) content.push({ type: 'text', text: message.content });
  const refused = typeof message.refusal === 'string' && message.refusal !== '';
  if (refused) content.push({ type: 'text', text: message.refusal });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: parseArguments(call.function.arguments),
    });
  }
  const answer = {
    id: tapped.responseId,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: refused ? 'refusal' : stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageBody(usageFromOpenAI(completion.usage) ?? ZERO_USAGE),
  };
  return { ...tapped, body: JSON.stringify(answer) };
}

/** Translates OpenAI chat chunks into Anthropic events as they arrive. */
export function messagesStreamFromChat(): StreamTap {
  const tap = openAIStreamTap(true);
  let started = false;
  let finished = false;
  let blockIndex = -1;
  let openBlock: 'thinking' | 'text' | 'tool' | null = null;
  /** The OpenAI `index` of the tool call whose block is open. */
  let openToolIndex = -1;
  let finish: unknown = null;
  let refused = false;

  const closeBlock = (): string[] => {
    if (openBlock === null) return [];
    openBlock = null;
    return [anthropicFrame({ type: 'content_block_stop', index: blockIndex })];
  };
  const openNew = (kind: 'thinking' | 'text' | 'tool', block: Record<string, unknown>): string[] => {
    const frames = closeBlock();
    blockIndex += 1;
    openBlock = kind;
    frames.push(anthropicFrame({ type: 'content_block_start', index: blockIndex, content_block: block }));
    return frames;
  };

  function translate(chunk: Record<string, unknown>): string[] {
    const frames: string[] = [];
    if (!started) {
      started = true;
      const message = { id: chunk.id, type: 'message', role: 'assistant', model: chunk.model, content: [] };
      const usage = { input_tokens: 0, output_tokens: 0 };
      frames.push(
        anthropicFrame({
          type: 'message_start',
          message: { ...message, stop_reason: null, stop_sequence: null, usage },
        }),
      );
    }
    const choice = Array.isArray(chunk.choices) && isRecord(chunk.choices[0]) ? chunk.choices[0] : null;
    const delta = choice && isRecord(choice.delta) ? choice.delta : {};
    const blockDelta = (payload: Record<string, unknown>) =>
      anthropicFrame({ type: 'content_block_delta', index: blockIndex, delta: payload });
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content) {
      if (openBlock !== 'thinking')
        frames.push(...openNew('thinking', { type: 'thinking', thinking: '', signature: '' }));
      frames.push(blockDelta({ type: 'thinking_delta', thinking: delta.reasoning_content }));
    }
    for (const text of [delta.content, delta.refusal]) {
      if (typeof text !== 'string' || !text) continue;
      if (text === delta.refusal) refused = true;
      if (openBlock !== 'text') frames.push(...openNew('text', { type: 'text', text: '' }));
      frames.push(blockDelta({ type: 'text_delta', text }));
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (!isRecord(call)) continue;
      const fn = isRecord(call.function) ? call.function : {};
      // A call's first delta carries its id and name; some servers repeat the id on every delta, so a new
      // block starts when the call's index changes, not whenever an id is present.
      const index = typeof call.index === 'number' ? call.index : openToolIndex;
      if (typeof call.id === 'string' && (openBlock !== 'tool' || index !== openToolIndex)) {
        frames.push(...openNew('tool', { type: 'tool_use', id: call.id, name: fn.name, input: {} }));
        openToolIndex = index;
      }
      if (typeof fn.arguments === 'string' && fn.arguments && openBlock === 'tool') {
        frames.push(blockDelta({ type: 'input_json_delta', partial_json: fn.arguments }));
      }
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
    return frames;
  }

  function end(): string[] {
    if (finished || !started) return [];
    finished = true;
    const usage = tap.usage().usage ?? ZERO_USAGE;
    return [
      ...closeBlock(),
      anthropicFrame({
        type: 'message_delta',
        delta: { stop_reason: refused ? 'refusal' : stopReason(finish), stop_sequence: null },
        usage: anthropicUsageBody(usage),
      }),
      anthropicFrame({ type: 'message_stop' }),
    ];
  }

  return {
    onEvent(event: SseEvent) {
      tap.onEvent(event);
      if (event.data === '[DONE]') return end();
      const chunk = eventJson(event);
      if (!chunk) return [];
      if (isRecord(chunk.error)) {
        finished = true;
        return [
          anthropicFrame({
            type: 'error',
            error: { type: chunk.error.type ?? 'api_error', message: chunk.error.message },
          }),
        ];
      }
      return translate(chunk);
    },
    end,
    usage: () => tap.usage(),
    responseId: () => tap.responseId(),
    text: () => tap.text(),
  };
}
