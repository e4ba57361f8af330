// Picks the exchange for a call: passthrough when client and provider share a wire format, translation
// both ways between OpenAI chat and Anthropic Messages (Claude behind the OpenAI SDK, OpenAI-compatible
// models behind the Anthropic SDK), and the in-process mock when the deployment is `mock/…` or the request
// carries LiteLLM's `mock_response`.

import type { CallType } from '../../callGuards.js';
import { AppError } from '../../errors.js';
import type { Deployment } from '../deployments.js';
import { checkMockEmbedding, DEFAULT_MOCK_TEXT, renderMockReply } from '../providers/mockReply.js';
import { anthropicTarget, type OpenAIPath, openAITarget } from '../providers/targets.js';
import { messagesToChatRequest } from '../translate/anthropicToOpenAIRequest.js';
import { chatToMessagesRequest } from '../translate/chatToMessages.js';
import { chatStreamFromMessages, messageToChatCompletion } from '../translate/messagesToChat.js';
import { chatCompletionToMessage, messagesStreamFromChat } from '../translate/openAIToAnthropicResponse.js';
import type { HttpTarget, UpstreamClient, UpstreamResponse } from '../upstream.js';
import { bedrockExchange } from './bedrock.js';
import { geminiExchange } from './gemini.js';
import { anthropicJsonResult, anthropicStreamTap, openAIJsonResult, openAIStreamTap } from './passthrough.js';
import { buildResponsesExchange } from './responsesExchange.js';
import { type Exchange, isRecord } from './types.js';

export interface ExchangeInput {
  callType: CallType;
  body: Record<string, unknown>;
  deployment: Deployment;
  clientHeaders: Record<string, string | string[] | undefined>;
  upstream: UpstreamClient;
  /** max_tokens to send when the provider requires one (Anthropic); the mock's reply is cut to it. */
  maxTokens: number;
}

const OPENAI_PATHS: Record<Exclude<CallType, 'messages' | 'responses'>, OpenAIPath> = {
  chat: 'chat/completions',
  completion: 'completions',
  embedding: 'embeddings',
};

/** Our own body fields never reach a provider (OpenAI rejects unknown ones); streams always ask for usage. */
function openAIUpstreamBody(body: Record<string, unknown>, model: string): Record<string, unknown> {
  const { tags: _tags, metadata: _metadata, mock_response: _mock, ...rest } = body;
  const out: Record<string, unknown> = { ...rest, model };
  if (rest.stream === true) {
    out.stream_options = { ...(isRecord(rest.stream_options) ? rest.stream_options : {}), include_usage: true };
  }
  return out;
}

/** Anthropic accepts `metadata.user_id` only. */
function anthropicUpstreamBody(body: Record<string, unknown>, model: string): Record<string, unknown> {
  const { tags: _tags, metadata, mock_response: _mock, ...rest } = body;
  const out: Record<string, unknown> = { ...rest, model };
  if (isRecord(metadata) && typeof metadata.user_id === 'string') out.metadata = { user_id: metadata.user_id };
  return out;
}

async function* once(value: string): AsyncGenerator<string> {
  yield value;
}

/** Mock stream frames a few at a time, letting other calls (and a client's disconnect) in between. */
const MOCK_FRAMES_PER_CHUNK = 16;

async function* chunked(frames: string[], abort: AbortController): AsyncGenerator<string> {
  for (let i = 0; i < frames.length && !abort.signal.aborted; i += MOCK_FRAMES_PER_CHUNK) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    yield frames.slice(i, i + MOCK_FRAMES_PER_CHUNK).join('');
  }
}

function mockSend(
  callType: Exclude<CallType, 'responses'>,
  body: Record<string, unknown>,
  text: string,
  maxTokens: number,
): (abort: AbortController) => Promise<UpstreamResponse> {
  return async (abort) => {
    const reply = renderMockReply(callType, body, { text, maxTokens });
    if (!reply.stream) {
      return { status: 200, headers: { 'content-type': 'application/json' }, body: once(JSON.stringify(reply.body)) };
    }
    return { status: 200, headers: { 'content-type': 'text/event-stream' }, body: chunked(reply.frames, abort) };
  };
}

export function buildExchange(input: ExchangeInput): Exchange {
  // The Responses API: native on OpenAI/Azure, otherwise through this deployment's chat exchange.
  if (input.callType === 'responses') return buildResponsesExchange(input, buildExchange);
  const { callType, body, deployment: d, upstream } = input;
  const stream = body.stream === true && callType !== 'embedding';
  const clientWantsUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const httpSend = (target: HttpTarget, upstreamBody: Record<string, unknown>) => (abort: AbortController) =>
    upstream.send(target, JSON.stringify(upstreamBody), {
      stream,
      abort,
      timeoutMs: d.timeoutMs,
      streamTimeoutMs: d.streamTimeoutMs,
    });
  const openAIPassthrough = { fromJson: openAIJsonResult, streamTap: () => openAIStreamTap(clientWantsUsage) };
  const anthropicPassthrough = { fromJson: anthropicJsonResult, streamTap: anthropicStreamTap };

  const mockText =
    typeof body.mock_response === 'string'
      ? body.mock_response
      : (d.mockResponse ?? (d.protocol === 'mock' ? DEFAULT_MOCK_TEXT : null));
  if (mockText !== null) {
    const upstreamBody =
      callType === 'messages'
        ? anthropicUpstreamBody(body, d.upstreamModel)
        : openAIUpstreamBody(body, d.upstreamModel);
    const passthrough = callType === 'messages' ? anthropicPassthrough : openAIPassthrough;
    if (callType === 'embedding') checkMockEmbedding(upstreamBody);
    return { provider: 'mock', send: mockSend(callType, upstreamBody, mockText, input.maxTokens), ...passthrough };
  }

  if (d.protocol === 'gemini') return geminiExchange(input);
  if (d.protocol === 'bedrock') return bedrockExchange(input);
  if (callType === 'messages') {
    if (d.protocol === 'anthropic') {
      const target = anthropicTarget(d, input.clientHeaders);
      return {
        provider: d.provider,
        send: httpSend(target, anthropicUpstreamBody(body, d.upstreamModel)),
        ...anthropicPassthrough,
      };
    }
    const upstreamBody = messagesToChatRequest(body, d.upstreamModel);
    return {
      provider: d.provider,
      send: httpSend(openAITarget(d, 'chat/completions'), upstreamBody),
      fromJson: chatCompletionToMessage,
      streamTap: messagesStreamFromChat,
    };
  }
  if (d.protocol === 'anthropic') {
    if (callType !== 'chat') {
      throw new AppError('bad_request', `model ${d.modelName}: Anthropic models serve chat/completions only`, {
        param: 'model',
        type: 'invalid_request_error',
      });
    }
    const upstreamBody = chatToMessagesRequest(body, d.upstreamModel, input.maxTokens);
    return {
      provider: d.provider,
      send: httpSend(anthropicTarget(d, {}), upstreamBody),
      fromJson: messageToChatCompletion,
      streamTap: () => chatStreamFromMessages(clientWantsUsage),
    };
  }
  const target = openAITarget(d, OPENAI_PATHS[callType]);
  return {
    provider: d.provider,
    send: httpSend(target, openAIUpstreamBody(body, d.upstreamModel)),
    ...openAIPassthrough,
  };
}
