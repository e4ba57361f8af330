// Bedrock Converse answer → OpenAI chat completion (JSON), and ConverseStream events (already re-framed as
// SSE by providers/bedrock.ts) → chat chunks. text → content, reasoningContent → reasoning_content, toolUse →
// tool_calls (streamed input deltas become argument deltas). Converse answers carry no id: the response id
// is the `x-amzn-requestid` of the HTTP answer. Usage comes from Converse's `usage`.

import { count, openAIUsageBody, type TokenUsage, ZERO_USAGE } from '../../pricing/usage.js';
import { isRecord, type JsonResult, type StreamTap, TextSink } from '../exchange/types.js';
import { eventJson, OPENAI_DONE_FRAME, openAIFrame, type SseEvent } from '../sse.js';

type Json = Record<string, unknown>;

/** Converse `usage`: inputTokens excludes cacheReadInputTokens and cacheWriteInputTokens (as Anthropic's does). */
export function usageFromBedrock(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const cached = count(usage, 'cacheReadInputTokens');
  const cacheWrite = count(usage, 'cacheWriteInputTokens');
  return {
    ...ZERO_USAGE,
    promptTokens: count(usage, 'inputTokens') + cached + cacheWrite,
    completionTokens: count(usage, 'outputTokens'),
    cachedTokens: cached,
    cacheWriteTokens: cacheWrite,
  };
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};
/** ConverseStream's modelled exceptions, named as OpenAI and Anthropic name their error types. */
const STREAM_ERROR_TYPES: Record<string, string> = {
  throttlingException: 'rate_limit_error',
  validationException: 'invalid_request_error',
};
const finishReason = (stop: unknown) => (typeof stop === 'string' ? (FINISH_REASONS[stop] ?? 'stop') : 'stop');
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function bedrockToChatCompletion(json: Json, model: string, responseId: string | null): JsonResult {
  const sink = new TextSink();
  const message = isRecord(json.output) && isRecord(json.output.message) ? json.output.message : {};
  const texts: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isRecord(block.reasoningContent) && isRecord(block.reasoningContent.reasoningText)) {
      const text = block.reasoningContent.reasoningText.text;
      if (typeof text === 'string') reasoning.push(text);
    } else if (isRecord(block.toolUse)) {
      const args = JSON.stringify(block.toolUse.input ?? {});
      const fn = { name: block.toolUse.name, arguments: args };
      toolCalls.push({ id: block.toolUse.toolUseId, type: 'function', function: fn });
      sink.add(args);
    }
  }
  for (const text of [...reasoning, ...texts]) sink.add(text);
  const usage = usageFromBedrock(json.usage);
  const completion = {
    id: responseId,
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length ? texts.join('') : null,
          ...(reasoning.length ? { reasoning_content: reasoning.join('') } : {}),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(json.stopReason),
      },
    ],
    usage: openAIUsageBody(usage ?? ZERO_USAGE),
  };
  return { body: JSON.stringify(completion), usage, responseId, text: sink.toString() };
}

/** Translates ConverseStream events into OpenAI chat chunks; the final usage comes in `metadata`. */
export function chatStreamFromBedrock(
  model: string,
  responseId: () => string | null,
  clientWantsUsage: boolean,
): StreamTap {
  const sink = new TextSink();
  const toolIndexByBlock = new Map<number, number>();
  let usage: TokenUsage | null = null;
  let base: Json | null = null;
  const chunk = (delta: Json, finish: string | null = null) => {
    base ??= { id: responseId(), object: 'chat.completion.chunk', created: nowSeconds(), model };
    return openAIFrame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  };

  function translate(name: string | null, json: Json): string[] {
    const block = typeof json.contentBlockIndex === 'number' ? json.contentBlockIndex : 0;
    switch (name) {
      case 'messageStart':
        return [chunk({ role: 'assistant', content: '' })];
      case 'contentBlockStart': {
        const start = isRecord(json.start) && isRecord(json.start.toolUse) ? json.start.toolUse : null;
        if (!start) return [];
        const index = toolIndexByBlock.size;
        toolIndexByBlock.set(block, index);
        const call = { index, id: start.toolUseId, type: 'function', function: { name: start.name, arguments: '' } };
        return [chunk({ tool_calls: [call] })];
      }
      case 'contentBlockDelta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        if (typeof delta.text === 'string') {
          sink.add(delta.text);
          return [chunk({ content: delta.text })];
        }
        if (isRecord(delta.toolUse) && typeof delta.toolUse.input === 'string') {
          sink.add(delta.toolUse.input);
          const call = { index: toolIndexByBlock.get(block) ?? 0, function: { arguments: delta.toolUse.input } };
          return [chunk({ tool_calls: [call] })];
        }
        if (isRecord(delta.reasoningContent) && typeof delta.reasoningContent.text === 'string') {
          sink.add(delta.reasoningContent.text);
          return [chunk({ reasoning_content: delta.reasoningContent.text })];
        }
        return [];
      }
      case 'messageStop':
        return [chunk({}, finishReason(json.stopReason))];
      case 'metadata':
        usage = usageFromBedrock(json.usage);
        return [];
      case 'error': {
        const type = STREAM_ERROR_TYPES[String(json.type)] ?? 'api_error';
        return [openAIFrame({ error: { message: json.message, type, code: json.type, param: null } })];
      }
      default:
        return [];
    }
  }

  return {
    onEvent(event: SseEvent) {
      const json = eventJson(event);
      return json ? translate(event.event, json) : [];
    },
    end() {
      if (!usage) return [];
      const usageFrame = openAIFrame({ ...base, choices: [], usage: openAIUsageBody(usage) });
      return clientWantsUsage ? [usageFrame, OPENAI_DONE_FRAME] : [OPENAI_DONE_FRAME];
    },
    usage: () => ({ usage, complete: usage !== null }),
    responseId,
    text: () => sink.toString(),
  };
}
