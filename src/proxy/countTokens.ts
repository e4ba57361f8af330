// Anthropic's token counting, `POST /v1/messages/count_tokens` (Claude Code calls it before most turns).
// Authenticated like every call (a valid key that may use the model) but not a call: nothing is billed,
// no budget or rate limit is consulted or charged, and no spend record is written. Anthropic deployments
// answer it themselves (forwarded with the same headers as /v1/messages, the answer returned as is); any
// other deployment is counted here with the proxy's tokenizer and labelled `x-spend-token-count: estimate`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { AppError, badRequest } from '../errors.js';
import { describeFailure, errorPayload } from './call/failures.js';
import { type Deployment, keyMayUse, type ModelRouter } from './deployments.js';
import { isRecord } from './exchange/types.js';
import { anthropicTarget } from './providers/targets.js';
import { countTokensOffLoop } from './tokenCountPool.js';
import { countPromptTokens, EVENT_LOOP_EXACT_CHARS } from './tokens.js';
import type { UpstreamClient } from './upstream.js';

export interface CountTokensDeps {
  router: ModelRouter;
  upstream: UpstreamClient;
  authenticate(request: FastifyRequest): Promise<Principal>;
}

/** Response header saying where the count came from: `provider` (Anthropic's own) or `estimate` (ours). */
export const TOKEN_COUNT_HEADER = 'x-spend-token-count';

/** The longest count_tokens answer relayed from a provider, in characters (it is `{"input_tokens": n}`). */
const MAX_ANSWER_CHARS = 64 * 1024;

function validate(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw badRequest('body', 'must be a JSON object');
  if (typeof body.model !== 'string' || !body.model) throw badRequest('model', 'required');
  if (!Array.isArray(body.messages)) throw badRequest('messages', 'required, an array of messages');
  body.messages.forEach((message, i) => {
    if (!isRecord(message)) throw badRequest(`messages[${i}]`, 'must be an object');
    if (message.role !== 'user' && message.role !== 'assistant') {
      throw badRequest(`messages[${i}].role`, 'must be user or assistant');
    }
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) {
      throw badRequest(`messages[${i}].content`, 'must be a string or an array of blocks');
    }
  });
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
    throw badRequest('system', 'must be a string or an array of text blocks');
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) throw badRequest('tools', 'must be an array');
  return body;
}

function resolve(deps: CountTokensDeps, principal: Principal, model: string): Deployment {
  const deployment = deps.router.resolve(model);
  if (!deployment) {
    throw new AppError('not_found', `model ${model} is not served here (GET /v1/models lists them)`, {
      param: 'model',
    });
  }
  if (!keyMayUse(principal.models, model)) {
    throw new AppError('forbidden', `this key may not call model ${model}`, { param: 'model' });
  }
  return deployment;
}

async function readText(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.length > MAX_ANSWER_CHARS) {
      throw new AppError('upstream_error', 'the model provider answered count_tokens with an oversized body', {
        type: 'api_error',
      });
    }
  }
  return text;
}

/** Forwards to `{api_base}/v1/messages/count_tokens` and relays the provider's status and body unchanged. */
async function forward(deps: CountTokensDeps, d: Deployment, request: FastifyRequest, reply: FastifyReply) {
  const { tags: _tags, metadata: _metadata, mock_response: _mock, ...rest } = request.body as Record<string, unknown>;
  const target = anthropicTarget(d, request.headers);
  const abort = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const response = await deps.upstream.send(
    { ...target, url: `${target.url}/count_tokens` },
    JSON.stringify({ ...rest, model: d.upstreamModel }),
    { stream: false, abort, timeoutMs: d.timeoutMs, streamTimeoutMs: d.streamTimeoutMs },
  );
  const text = await readText(response.body);
  return reply
    .code(response.status)
    .header(TOKEN_COUNT_HEADER, 'provider')
    .type(String(response.headers['content-type'] ?? 'application/json'))
    .send(text);
}

async function countTokens(deps: CountTokensDeps, request: FastifyRequest, reply: FastifyReply) {
  const principal = await deps.authenticate(request);
  const body = validate(request.body);
  const deployment = resolve(deps, principal, String(body.model));
  const mocked = typeof body.mock_response === 'string' || deployment.mockResponse !== null;
  if (deployment.protocol === 'anthropic' && !mocked) return forward(deps, deployment, request, reply);
  // The mock bills what the in-process tokenizer counts (mock/…: loaded at boot); any other count runs in
  // the token-count worker, never on the event loop (a rough estimate until that worker is ready).
  const inputTokens =
    mocked || deployment.protocol === 'mock'
      ? countPromptTokens('messages', body, EVENT_LOOP_EXACT_CHARS)
      : (await countTokensOffLoop({ prompt: { shape: 'messages', body }, text: '' })).prompt;
  return reply.header(TOKEN_COUNT_HEADER, 'estimate').send({ input_tokens: inputTokens });
}

/** Anthropic's error `type` for each status the proxy itself answers. */
function anthropicErrorType(status: number): string {
  const types: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
  };
  if (types[status]) return types[status];
  if (status < 500) return 'invalid_request_error';
  return status === 504 ? 'timeout_error' : 'api_error';
}

/** Every refusal in Anthropic's error shape (the only clients of this route are Anthropic SDKs). */
async function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const failure = describeFailure(err);
  if (failure.unexpected) request.log.error({ err }, 'count_tokens failed');
  const info = { ...failure.info, type: anthropicErrorType(failure.status) };
  return reply
    .code(failure.status)
    .headers(failure.headers)
    .type('application/json')
    .send(errorPayload('anthropic', info));
}

/** `/messages/count_tokens` and `/v1/messages/count_tokens`; the key is checked before the body is read. */
export function registerCountTokensRoutes(app: FastifyInstance, deps: CountTokensDeps): void {
  for (const prefix of ['', '/v1']) {
    app.post(`${prefix}/messages/count_tokens`, {
      onRequest: async (request) => {
        await deps.authenticate(request);
      },
      errorHandler: answerError,
      handler: async (request, reply) => {
        try {
          return await countTokens(deps, request, reply);
        } catch (err) {
          return answerError(err, request, reply);
        }
      },
    });
  }
}
