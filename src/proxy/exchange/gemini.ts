// Exchanges with Gemini deployments: OpenAI chat is translated to `generateContent` and back; the
// Anthropic Messages API goes through the chat form (Messages → chat → Gemini, Gemini → chat → Messages).
// Gemini's error envelope is re-shaped for the call layer. Embeddings and legacy completions are refused.

import type { CallType } from '../../callGuards.js';
import { badRequest } from '../../errors.js';
import type { Deployment } from '../deployments.js';
import { geminiTarget } from '../providers/gemini.js';
import { messagesToChatRequest } from '../translate/anthropicToOpenAIRequest.js';
import { chatToGeminiRequest } from '../translate/chatToGemini.js';
import { chatStreamFromGemini, geminiErrorInfo, geminiToChatCompletion } from '../translate/geminiToChat.js';
import { messageFromChatResult, messagesStreamViaChat } from '../translate/messagesViaChat.js';
import { openAIErrorResponse, parseJson, readErrorText } from '../translate/providerErrors.js';
import type { UpstreamClient } from '../upstream.js';
import { type Exchange, isRecord } from './types.js';

export interface ProviderExchangeInput {
  callType: CallType;
  body: Record<string, unknown>;
  deployment: Deployment;
  upstream: UpstreamClient;
}

/** Gemini and Bedrock serve chat and messages; the field at fault for anything else is the model. */
export function refuseNonChat(callType: CallType, d: Deployment, what: string): void {
  if (callType === 'chat' || callType === 'messages') return;
  throw badRequest('model', `${d.modelName} is a ${what} deployment: it serves chat/completions and messages only`);
}

export function geminiExchange(input: ProviderExchangeInput): Exchange {
  const { callType, deployment: d, upstream } = input;
  refuseNonChat(callType, d, 'Gemini');
  const messages = callType === 'messages';
  const chatBody = messages ? messagesToChatRequest(input.body, d.upstreamModel) : input.body;
  const stream = chatBody.stream === true;
  const clientWantsUsage = isRecord(chatBody.stream_options) && chatBody.stream_options.include_usage === true;
  const payload = JSON.stringify(chatToGeminiRequest(chatBody));
  const target = geminiTarget(d, stream);
  return {
    provider: d.provider,
    async send(abort) {
      const options = { stream, abort, timeoutMs: d.timeoutMs, streamTimeoutMs: d.streamTimeoutMs };
      const response = await upstream.send(target, payload, options);
      if (response.status < 400) return response;
      const info = geminiErrorInfo(parseJson(await readErrorText(response)));
      return openAIErrorResponse(response, info.message, info.code);
    },
    fromJson(_raw, json) {
      const chat = geminiToChatCompletion(json, d.upstreamModel);
      return messages ? messageFromChatResult(chat) : chat;
    },
    streamTap() {
      const chat = chatStreamFromGemini(d.upstreamModel, clientWantsUsage);
      return messages ? messagesStreamViaChat(chat) : chat;
    },
  };
}
