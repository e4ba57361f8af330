// Exchanges with Bedrock deployments through the Converse API: OpenAI chat is translated to Converse and
// back; the Anthropic Messages API goes through the chat form. The request is SigV4-signed per call (the
// signature covers the date and the body). ConverseStream's binary event stream is re-framed as SSE inside
// `send()` (providers/bedrock.ts), so the relay, which reads SSE, relays Bedrock unchanged. AWS errors
// (`x-amzn-errortype` + `{"message"}`) are re-shaped for the call layer with their status kept.
import type { Deployment } from '../deployments.js';
import { signedBedrockTarget, sseFromEventStream } from '../providers/bedrock.js';
import { messagesToChatRequest } from '../translate/anthropicToOpenAIRequest.js';
import { bedrockToChatCompletion, chatStreamFromBedrock } from '../translate/bedrockToChat.js';
import { chatToBedrockRequest } from '../translate/chatToBedrock.js';
import { messageFromChatResult, messagesStreamViaChat } from '../translate/messagesViaChat.js';
import { openAIErrorResponse, parseJson, readErrorText } from '../translate/providerErrors.js';
import type { UpstreamResponse } from '../upstream.js';
import { type ProviderExchangeInput, refuseNonChat } from './gemini.js';
import { type Exchange, isRecord } from './types.js';

/** The exception name: `x-amzn-errortype: ThrottlingException:http://…`, or `__type` in the body. */
function awsErrorCode(response: UpstreamResponse, body: unknown): string | null {
  const header = response.headers['x-amzn-errortype'];
  const raw =
    typeof header === 'string' ? header : isRecord(body) && typeof body.__type === 'string' ? body.__type : null;
  return raw ? (raw.split(':')[0]?.split('#').at(-1) ?? null) : null;
}

function awsErrorMessage(body: unknown): string | null {
  if (!isRecord(body)) return null;
  const message = body.message ?? body.Message;
  return typeof message === 'string' ? message : null;
}

export function bedrockExchange(input: ProviderExchangeInput): Exchange {
  const { callType, deployment: d, upstream } = input;
  refuseNonChat(callType, d, 'Bedrock');
  const aws = requireAws(d);
  const messages = callType === 'messages';
  const chatBody = messages ? messagesToChatRequest(input.body, d.upstreamModel) : input.body;
  const stream = chatBody.stream === true;
  const clientWantsUsage = isRecord(chatBody.stream_options) && chatBody.stream_options.include_usage === true;
  const payload = JSON.stringify(chatToBedrockRequest(chatBody));
  let requestId: string | null = null;
  return {
    provider: d.provider,
    async send(abort) {
      const target = await signedBedrockTarget(d.apiBase ?? '', d.upstreamModel, aws, stream, payload);
      const options = { stream, abort, timeoutMs: d.timeoutMs, streamTimeoutMs: d.streamTimeoutMs };
      const response = await upstream.send(target, payload, options);
      const id = response.headers['x-amzn-requestid'];
      if (typeof id === 'string') requestId = id;
      if (response.status >= 400) {
        const body = parseJson(await readErrorText(response));
        return openAIErrorResponse(response, awsErrorMessage(body), awsErrorCode(response, body));
      }
      return stream ? { ...response, body: sseFromEventStream(response.body) } : response;
    },
    fromJson(_raw, json) {
      const chat = bedrockToChatCompletion(json, d.upstreamModel, requestId);
      return messages ? messageFromChatResult(chat) : chat;
    },
    streamTap() {
      const chat = chatStreamFromBedrock(d.upstreamModel, () => requestId, clientWantsUsage);
      return messages ? messagesStreamViaChat(chat) : chat;
    },
  };
}

function requireAws(d: Deployment) {
  // deployments.ts resolves the settings at boot and refuses a bedrock entry without them.
  if (!d.aws) throw new Error(`deployment ${d.modelName} has no AWS settings`);
  return d.aws;
}
