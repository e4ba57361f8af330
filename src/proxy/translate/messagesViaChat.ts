// Serves the Anthropic Messages API from a provider reached through a chat translation (Gemini, Bedrock):
// the provider's answer is first turned into an OpenAI chat answer, then into a Messages answer by the same
// translation that serves OpenAI-compatible models to the Anthropic SDK. Usage, ids and text stay those
// read from the provider's own answer (the chat form has no cache-write count), and the Anthropic usage the
// client sees is rebuilt from them.

import { anthropicUsageBody, ZERO_USAGE } from '../../pricing/usage.js';
import type { JsonResult, StreamTap } from '../exchange/types.js';
import { anthropicFrame, eventJson, SseParser } from '../sse.js';
import { chatCompletionToMessage, messagesStreamFromChat } from './openAIToAnthropicResponse.js';

export function messageFromChatResult(chat: JsonResult): JsonResult {
  const message = chatCompletionToMessage(chat.body, JSON.parse(chat.body) as Record<string, unknown>);
  const body = { ...(JSON.parse(message.body) as object), usage: anthropicUsageBody(chat.usage ?? ZERO_USAGE) };
  return { ...chat, body: JSON.stringify(body) };
}

export function messagesStreamViaChat(chat: StreamTap): StreamTap {
  const messages = messagesStreamFromChat();
  const parser = new SseParser();
  const withUsage = (frame: string): string => {
    if (!frame.startsWith('event: message_delta')) return frame;
    const [event] = new SseParser().push(frame);
    const json = event ? eventJson(event) : null;
    if (!json) return frame;
    const usage = anthropicUsageBody(chat.usage().usage ?? ZERO_USAGE);
    return anthropicFrame({ ...json, type: 'message_delta', usage });
  };
  const feed = (frames: string[]) =>
    frames
      .flatMap((frame) => parser.push(frame))
      .flatMap((event) => messages.onEvent(event))
      .map(withUsage);
  return {
    onEvent: (event) => feed(chat.onEvent(event)),
    end: () => [...feed(chat.end()), ...messages.end().map(withUsage)],
    usage: () => chat.usage(),
    responseId: () => chat.responseId(),
    text: () => chat.text(),
  };
}
