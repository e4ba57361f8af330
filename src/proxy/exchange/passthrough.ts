// Passthrough pairings: the client and the provider speak the same wire format, so bodies and stream
// frames are forwarded byte for byte while usage, ids and text are read on the side.

import { type TokenUsage, usageFromAnthropic, usageFromOpenAI } from '../../pricing/usage.js';
import { eventJson, type SseEvent } from '../sse.js';
import { isRecord, type JsonResult, type StreamTap, TextSink } from './types.js';

/** Text of an OpenAI choice or stream delta: chat content, legacy completion text, tool-call arguments. */
function collectOpenAIChoice(choice: unknown, sink: TextSink): void {
  if (!isRecord(choice)) return;
  sink.add(choice.text);
  const message = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : null;
  if (!message) return;
  sink.add(message.content);
  sink.add(message.reasoning_content);
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls)
      if (isRecord(call) && isRecord(call.function)) sink.add(call.function.arguments);
  }
}

export function openAIJsonResult(raw: string, json: Record<string, unknown>): JsonResult {
  const text = new TextSink();
  if (Array.isArray(json.choices)) for (const choice of json.choices) collectOpenAIChoice(choice, text);
  return {
    body: raw,
    usage: usageFromOpenAI(json.usage, json.service_tier),
    responseId: typeof json.id === 'string' ? json.id : null,
    text: text.toString(),
  };
}

/**
 * Taps an OpenAI stream. The proxy always asks the provider for the final usage chunk; a client that did
 * not ask for it does not get it (a usage-only chunk has no choices, which naive clients index into).
 */
export function openAIStreamTap(clientWantsUsage: boolean): StreamTap {
  const text = new TextSink();
  let usage: TokenUsage | null = null;
  let responseId: string | null = null;
  return {
    onEvent(event: SseEvent) {
      const json = eventJson(event);
      if (!json) return [event.raw];
      if (responseId === null && typeof json.id === 'string') responseId = json.id;
      const reported = usageFromOpenAI(json.usage, json.service_tier);
      if (reported) usage = reported;
      const choices = Array.isArray(json.choices) ? json.choices : [];
      for (const choice of choices) collectOpenAIChoice(choice, text);
      if (reported && choices.length === 0 && !clientWantsUsage) return [];
      return [event.raw];
    },
    end: () => [],
    usage: () => ({ usage, complete: usage !== null }),
    responseId: () => responseId,
    text: () => text.toString(),
  };
}

function collectAnthropicBlock(block: unknown, sink: TextSink): void {
  if (!isRecord(block)) return;
  sink.add(block.text);
  sink.add(block.thinking);
  sink.add(block.partial_json);
  if (block.type === 'tool_use' && block.input !== undefined) sink.add(JSON.stringify(block.input));
}

export function anthropicJsonResult(raw: string, json: Record<string, unknown>): JsonResult {
  const text = new TextSink();
  if (Array.isArray(json.content)) for (const block of json.content) collectAnthropicBlock(block, text);
  return {
    body: raw,
    usage: usageFromAnthropic(json.usage),
    responseId: typeof json.id === 'string' ? json.id : null,
    text: text.toString(),
  };
}

/**
 * Reads an Anthropic event stream: input usage comes in `message_start`, the final output count in
 * `message_delta` (cumulative, newer API versions repeat the input counts there).
 */
export class AnthropicStreamReader {
  private readonly rawUsage: Record<string, unknown> = {};
  private final = false;
  private id: string | null = null;
  private readonly sink = new TextSink();

  read(event: SseEvent): Record<string, unknown> | null {
    const json = eventJson(event);
    if (!json) return null;
    if (json.type === 'message_start' && isRecord(json.message)) {
      if (typeof json.message.id === 'string') this.id = json.message.id;
      this.mergeUsage(json.message.usage);
    } else if (json.type === 'content_block_start') {
      if (isRecord(json.content_block) && json.content_block.type !== 'tool_use') {
        collectAnthropicBlock(json.content_block, this.sink);
      }
    } else if (json.type === 'content_block_delta') {
      collectAnthropicBlock(json.delta, this.sink);
    } else if (json.type === 'message_delta' && isRecord(json.usage)) {
      this.mergeUsage(json.usage);
      this.final = true;
    }
    return json;
  }

  /** Later events' fields win (message_delta's counts are cumulative); nulls never erase a reported field. */
  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const [key, value] of Object.entries(usage))
      if (value !== null && value !== undefined) this.rawUsage[key] = value;
  }

  usage(): { usage: TokenUsage | null; complete: boolean } {
    return {
      usage: Object.keys(this.rawUsage).length ? usageFromAnthropic(this.rawUsage) : null,
      complete: this.final,
    };
  }

  responseId(): string | null {
    return this.id;
  }

  text(): string {
    return this.sink.toString();
  }
}

export function anthropicStreamTap(): StreamTap {
  const reader = new AnthropicStreamReader();
  return {
    onEvent(event) {
      reader.read(event);
      return [event.raw];
    },
    end: () => [],
    usage: () => reader.usage(),
    responseId: () => reader.responseId(),
    text: () => reader.text(),
  };
}
