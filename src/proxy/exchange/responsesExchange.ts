// The OpenAI Responses API (`POST /v1/responses`) for every deployment. OpenAI and Azure deployments get it
// natively: the body goes to the provider's own /responses endpoint and its bytes come back unchanged, with
// usage, id and text read on the side. Every other deployment (Anthropic, the mock, OpenAI-compatible
// providers, any chat-capable provider) is served through its chat exchange: the request is translated to
// Chat Completions, and the chat answer (JSON or stream) back into a Response / Responses events.
import { badRequest } from '../../errors.js';
import type { TokenUsage } from '../../pricing/usage.js';
import type { Deployment } from '../deployments.js';
import { openAITarget } from '../providers/targets.js';
import { eventJson } from '../sse.js';
import { responseFromChatResult, responsesFrame, responsesStreamFromChat } from '../translate/responsesFromChat.js';
import { checkResponsesRequest, responsesToChatRequest } from '../translate/responsesToChat.js';
import { usageFromResponse } from '../translate/responsesUsage.js';
import type { HttpTarget } from '../upstream.js';
import type { ExchangeInput } from './buildExchange.js';
import { type Exchange, isRecord, type JsonResult, type StreamTap, TextSink } from './types.js';

/**
 * Hosted tools whose fees (per search, per container, per image) are not in the token usage a Response
 * reports: forwarding them would record a cost below the bill, so they are refused even natively.
 */
const UNPRICED_HOSTED_TOOLS = new Set([
  'web_search',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'file_search',
  'code_interpreter',
  'image_generation',
]);

/** OpenAI itself and Azure OpenAI serve /responses; other OpenAI-compatible providers may not. */
export function servesResponsesNatively(d: Deployment, body: Record<string, unknown>): boolean {
  if (typeof body.mock_response === 'string' || d.mockResponse !== null) return false;
  return d.protocol === 'azure' || (d.protocol === 'openai' && d.provider === 'openai');
}

/** OpenAI's /responses; Azure's v1 API (`{endpoint}/openai/v1/responses`, the deployment named by `model`). */
function responsesTarget(d: Deployment): HttpTarget {
  // Same auth headers as every OpenAI-wire call of the deployment; only the URL differs.
  const { headers } = openAITarget(d, 'chat/completions');
  return { url: d.protocol === 'azure' ? `${d.apiBase}/openai/v1/responses` : `${d.apiBase}/responses`, headers };
}

function checkNativeTools(tools: unknown): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool, i) => {
    if (isRecord(tool) && typeof tool.type === 'string' && UNPRICED_HOSTED_TOOLS.has(tool.type)) {
      throw badRequest(`tools[${i}].type`, `${tool.type} is billed per use outside token usage; it cannot be priced`);
    }
  });
}

/** Text of Response output items: message text, refusals, function-call arguments, reasoning summaries. */
function collectOutputItem(item: unknown, sink: TextSink): void {
  if (!isRecord(item)) return;
  sink.add(item.arguments);
  for (const part of [
    ...(Array.isArray(item.content) ? item.content : []),
    ...(Array.isArray(item.summary) ? item.summary : []),
  ]) {
    if (isRecord(part)) {
      sink.add(part.text);
      sink.add(part.refusal);
    }
  }
}

export function responsesJsonResult(raw: string, json: Record<string, unknown>): JsonResult {
  const text = new TextSink();
  if (Array.isArray(json.output)) for (const item of json.output) collectOutputItem(item, text);
  return {
    body: raw,
    usage: usageFromResponse(json),
    responseId: typeof json.id === 'string' ? json.id : null,
    text: text.toString(),
  };
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Taps a native Responses stream: the id comes with response.created, the usage with the terminal event.
 * The last response object and sequence number seen let the proxy end a broken stream with `response.failed`.
 */
export function responsesStreamTap(): StreamTap {
  const text = new TextSink();
  let usage: TokenUsage | null = null;
  let complete = false;
  let responseId: string | null = null;
  let lastResponse: Record<string, unknown> = {};
  let nextSequence = 0;
  return {
    onEvent(event) {
      const json = eventJson(event);
      if (!json) return [event.raw];
      const response = isRecord(json.response) ? json.response : null;
      if (responseId === null && response && typeof response.id === 'string') responseId = response.id;
      if (response) lastResponse = response;
      if (typeof json.sequence_number === 'number') nextSequence = json.sequence_number + 1;
      if (json.type === 'response.output_text.delta' || json.type === 'response.function_call_arguments.delta') {
        text.add(json.delta);
      } else if (typeof json.type === 'string' && TERMINAL_EVENTS.has(json.type) && response) {
        usage = usageFromResponse(response) ?? usage;
        complete = usage !== null;
      }
      return [event.raw];
    },
    end: () => [],
    usage: () => ({ usage, complete }),
    responseId: () => responseId,
    text: () => text.toString(),
    failed(error) {
      const response = { ...lastResponse, status: 'failed', error };
      return [responsesFrame({ type: 'response.failed', response, sequence_number: nextSequence++ })];
    },
  };
}

/** Our own body fields never reach the provider (OpenAI rejects unknown ones). */
function nativeBody(body: Record<string, unknown>, model: string): Record<string, unknown> {
  const { tags: _tags, metadata: _metadata, mock_response: _mock, ...rest } = body;
  return { ...rest, model };
}

export function buildResponsesExchange(input: ExchangeInput, buildChat: (input: ExchangeInput) => Exchange): Exchange {
  const { body, deployment: d } = input;
  checkResponsesRequest(body);
  if (servesResponsesNatively(d, body)) {
    checkNativeTools(body.tools);
    const stream = body.stream === true;
    const target = responsesTarget(d);
    const upstreamBody = JSON.stringify(nativeBody(body, d.upstreamModel));
    return {
      provider: d.provider,
      send: (abort) =>
        input.upstream.send(target, upstreamBody, {
          stream,
          abort,
          timeoutMs: d.timeoutMs,
          streamTimeoutMs: d.streamTimeoutMs,
        }),
      fromJson: responsesJsonResult,
      streamTap: responsesStreamTap,
    };
  }
  const chatBody = responsesToChatRequest(body);
  // The chat stream must carry its usage: the Response's usage (and the record) come from it.
  if (chatBody.stream === true) chatBody.stream_options = { include_usage: true };
  const chat = buildChat({ ...input, callType: 'chat', body: chatBody });
  return {
    provider: chat.provider,
    send: chat.send,
    fromJson: (raw, json) => responseFromChatResult(chat.fromJson(raw, json), body),
    streamTap: () => responsesStreamFromChat(chat.streamTap(), body),
  };
}
