// Anthropic Messages response → OpenAI chat completion (JSON and stream chunks), the other half of serving
// Claude to the OpenAI SDK. Tool use becomes `tool_calls`, thinking becomes `reasoning_content`, and the
// usage object is OpenAI's (prompt_tokens includes cache reads and writes).

import { openAIUsageBody, usageFromAnthropic, ZERO_USAGE } from '../../pricing/usage.js';
import { AnthropicStreamReader, anthropicJsonResult } from '../exchange/passthrough.js';
import { isRecord, type JsonResult, type StreamTap } from '../exchange/types.js';
import { OPENAI_DONE_FRAME, openAIFrame, type SseEvent } from '../sse.js';

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

const finishReason = (stop: unknown) => (typeof stop === 'string' ? (FINISH_REASONS[stop] ?? 'stop') : null);
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function messageToChatCompletion(raw: string, message: Record<string, unknown>): JsonResult {
  const tapped = anthropicJsonResult(raw, message);
  const texts: string[] = [];
  const thinking: string[] = [];
  const toolCalls: unknown[] = [];
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') thinking.push(block.thinking);
    else if (block.type === 'tool_use') {
      const call = { name: block.name, arguments: JSON.stringify(block.input ?? {}) };
      toolCalls.push({ id: block.id, type: 'function', function: call });
    }
  }
  const completion = {
    id: tapped.responseId,
    object: 'chat.completion',
    created: nowSeconds(),
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length ? texts.join('') : null,
          ...(thinking.length ? { reasoning_content: thinking.join('') } : {}),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(message.stop_reason),
      },
    ],
    usage: openAIUsageBody(usageFromAnthropic(message.usage) ?? ZERO_USAGE),
  };
  return { ...tapped, body: JSON.stringify(completion) };
}

/** Translates Anthropic stream events into OpenAI chat chunks as they arrive. */
export function chatStreamFromMessages(clientWantsUsage: boolean): StreamTap {
  const reader = new AnthropicStreamReader();
  const toolIndexByBlock = new Map<number, number>();
  let base: Record<string, unknown> = { object: 'chat.completion.chunk' };
  const chunk = (delta: unknown, finish: string | null = null) =>
    openAIFrame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

  function translate(json: Record<string, unknown>): string[] {
    const index = typeof json.index === 'number' ? json.index : -1;
    switch (json.type) {
      case 'message_start': {
        const message = isRecord(json.message) ? json.message : {};
        base = { id: message.id, object: 'chat.completion.chunk', created: nowSeconds(), model: message.model };
        return [chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const block = isRecord(json.content_block) ? json.content_block : {};
        // Anthropic opens text and thinking blocks empty; a server that sends their start with text is relayed.
        if (block.type === 'text' && typeof block.text === 'string' && block.text)
          return [chunk({ content: block.text })];
        if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking) {
          return [chunk({ reasoning_content: block.thinking })];
        }
        if (block.type !== 'tool_use') return [];
        const toolIndex = toolIndexByBlock.size;
        toolIndexByBlock.set(index, toolIndex);
        const call = {
          index: toolIndex,
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: '' },
        };
        return [chunk({ tool_calls: [call] })];
      }
      case 'content_block_delta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        if (delta.type === 'text_delta') return [chunk({ content: delta.text })];
        if (delta.type === 'thinking_delta') return [chunk({ reasoning_content: delta.thinking })];
        if (delta.type === 'input_json_delta') {
          const call = { index: toolIndexByBlock.get(index) ?? 0, function: { arguments: delta.partial_json } };
          return [chunk({ tool_calls: [call] })];
        }
        return [];
      }
      case 'message_delta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        return [chunk({}, finishReason(delta.stop_reason) ?? 'stop')];
      }
      case 'message_stop': {
        const usage = reader.usage().usage ?? ZERO_USAGE;
        const usageFrame = openAIFrame({ ...base, choices: [], usage: openAIUsageBody(usage) });
        return clientWantsUsage ? [usageFrame, OPENAI_DONE_FRAME] : [OPENAI_DONE_FRAME];
      }
      case 'error': {
        const error = isRecord(json.error) ? json.error : {};
        return [openAIFrame({ error: { message: error.message, type: error.type, code: null, param: null } })];
      }
      default:
        return [];
    }
  }

  return {
    onEvent(event: SseEvent) {
      const json = reader.read(event);
      return json ? translate(json) : [];
    },
    end: () => [],
    usage: () => reader.usage(),
    responseId: () => reader.responseId(),
    text: () => reader.text(),
  };
}
