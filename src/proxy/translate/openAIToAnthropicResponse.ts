// OpenAI chat answer → Anthropic Messages answer (JSON and event stream), the other half of serving
// OpenAI-compatible models to the Anthropic SDK. Stream chunks become message_start, one content block per
// text run or tool call, message_delta (stop reason, output usage) and message_stop.
import { openAIJsonResult, openAIStreamTap } from '../exchange/passthrough.js';
import { isRecord, type JsonResult, type StreamTap } from '../exchange/types.js';
import { anthropicFrame, eventJson, type SseEvent } from '../sse.js';
import { anthropicUsageBody, usageFromOpenAI, ZERO_USAGE } from '../usage.js';

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
  if (typeof message.content === 'string' && message.content) content.push({ type: 'text', text: message.content });
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
    stop_reason: stopReason(choice.finish_reason),
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
  let openBlock: 'text' | 'tool' | null = null;
  let finish: unknown = null;

  const closeBlock = (): string[] => {
    if (openBlock === null) return [];
    openBlock = null;
    return [anthropicFrame({ type: 'content_block_stop', index: blockIndex })];
  };
  const openNew = (kind: 'text' | 'tool', block: Record<string, unknown>): string[] => {
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
    if (typeof delta.content === 'string' && delta.content) {
      if (openBlock !== 'text') frames.push(...openNew('text', { type: 'text', text: '' }));
      frames.push(
        anthropicFrame({
          type: 'content_block_delta',
          index: blockIndex,
          delta: { type: 'text_delta', text: delta.content },
        }),
      );
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (!isRecord(call)) continue;
      const fn = isRecord(call.function) ? call.function : {};
      if (typeof call.id === 'string')
        frames.push(...openNew('tool', { type: 'tool_use', id: call.id, name: fn.name, input: {} }));
      if (typeof fn.arguments === 'string' && fn.arguments && openBlock === 'tool') {
        const partial = { type: 'input_json_delta', partial_json: fn.arguments };
        frames.push(anthropicFrame({ type: 'content_block_delta', index: blockIndex, delta: partial }));
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
        delta: { stop_reason: stopReason(finish), stop_sequence: null },
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
