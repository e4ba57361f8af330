// Error answers of providers with their own error envelopes (Gemini's `{"error":{"code","message","status"}}`,
// Bedrock's `{"message"}` + `x-amzn-errortype`) re-shaped into the OpenAI envelope the call layer reads
// (src/proxy/call/failures.ts), so a provider's 429 reaches the client as a 429 in its own SDK's format.
// The `type` follows the status the way OpenAI and Anthropic name their errors.
import type { UpstreamResponse } from '../upstream.js';

const MAX_ERROR_BODY = 64 * 1024;

export function errorTypeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export async function readErrorText(response: UpstreamResponse): Promise<string> {
  let text = '';
  for await (const chunk of response.body) {
    if (text.length < MAX_ERROR_BODY) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  }
  return text;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function* once(value: string): AsyncGenerator<string> {
  yield value;
}

/** The same status and headers, with an OpenAI error body. */
export function openAIErrorResponse(
  response: UpstreamResponse,
  message: string | null,
  code: string | null,
): UpstreamResponse {
  const error = {
    message: message || `the model provider answered ${response.status}`,
    type: errorTypeForStatus(response.status),
    code,
    param: null,
  };
  return {
    status: response.status,
    headers: { ...response.headers, 'content-type': 'application/json' },
    body: once(JSON.stringify({ error })),
  };
}
