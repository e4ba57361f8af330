// One LLM call through the proxy: authenticate, attribute, route, count and price the worst case, run the
// call guards, forward, relay the answer, and — whatever happened — settle the guards and write one record.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { CallContext, CallGuards, CallType } from '../../callGuards.js';
import { AppError, badRequest } from '../../errors.js';
import { serviceTierOf } from '../../pricing/usage.js';
import type { SpendSink } from '../../spendSink.js';
import { keyMayUse, type ModelRouter } from '../deployments.js';
import { buildExchange } from '../exchange/buildExchange.js';
import { isRecord } from '../exchange/types.js';
import { promptTokenBound } from '../promptSize.js';
import type { ResponsesItemStore } from '../responsesItemStore.js';
import { anthropicFrame, OPENAI_DONE_FRAME, openAIFrame } from '../sse.js';
import type { UpstreamClient } from '../upstream.js';
import { readAttribution } from './attribution.js';
import { finishCall, screenCall } from './callHooks.js';
import { CallState } from './callState.js';
import { describeFailure, errorPayload, readUpstreamError } from './failures.js';
import { relayJson, relayStream } from './relay.js';
import { readOutputBound, worstCaseOf } from './requestBounds.js';

export interface ProxyDeps {
  router: ModelRouter;
  upstream: UpstreamClient;
  guards: CallGuards;
  sink: SpendSink;
  authenticate(request: FastifyRequest): Promise<Principal>;
  storePrompts: boolean;
  /** general_settings.mock_response_key_aliases: non-admin keys that may send `mock_response`. */
  mockResponseKeyAliases: ReadonlySet<string>;
  /** Output items of translated Responses, for `item_reference` / `previous_response_id`. */
  responsesItems: ResponsesItemStore;
  /** general_settings.bill_provider_reported_cost (default true): bill OpenRouter's `usage.cost` when given. */
  billProviderCost: boolean;
}

/** `mock_response` answers without the provider, priced at the request's model: only trusted callers may. */
function checkMockResponse(body: Record<string, unknown>, principal: Principal, allowed: ReadonlySet<string>): void {
  const value = body.mock_response;
  if (value === undefined || value === null) return;
  if (!principal.isAdmin && !(principal.keyAlias !== null && allowed.has(principal.keyAlias))) {
    throw new AppError(
      'forbidden',
      'mock_response: only the master key, admin keys and keys listed in general_settings.mock_response_key_aliases may send it',
      { param: 'mock_response' },
    );
  }
  if (typeof value !== 'string') throw badRequest('mock_response', `expected a string, got a ${typeof value}`);
}

function promptOf(callType: CallType, body: Record<string, unknown>): unknown {
  if (callType === 'completion') return body.prompt;
  if (callType === 'embedding') return body.input;
  if (callType === 'responses') return { instructions: body.instructions, input: body.input };
  return callType === 'messages' ? { system: body.system, messages: body.messages } : body.messages;
}

async function admit(guards: CallGuards, call: CallState, maxCompletion: number, reply: FastifyReply): Promise<void> {
  if (!guards.admitters.length || !call.principal || !call.deployment || call.reservedCostNano === null) return;
  const ctx: CallContext = {
    requestId: call.requestId,
    principal: call.principal,
    model: call.model,
    provider: call.provider,
    upstreamModel: call.deployment.upstreamModel,
    callType: call.callType,
    customerId: call.attribution.customerId,
    tags: call.attribution.tags,
    promptTokens: call.promptTokensBound,
    maxCompletionTokens: maxCompletion,
    maxCostNano: call.reservedCostNano,
    now: call.startedAt,
  };
  // One at a time: a refusal leaves the earlier admissions in call.admissions, settled by finish().
  for (const guard of guards.admitters) {
    const admission = await guard.admit(ctx);
    call.admissions.push(admission);
    for (const [name, value] of Object.entries(admission.headers ?? {})) reply.header(name, value);
  }
}

async function runCall(
  deps: ProxyDeps,
  call: CallState,
  request: FastifyRequest,
  reply: FastifyReply,
  abort: AbortController,
) {
  const body = request.body;
  if (!isRecord(body)) throw badRequest('body', 'must be a JSON object');
  if (typeof body.model === 'string') call.model = body.model;
  call.stream = body.stream === true && call.callType !== 'embedding';
  call.principal = await deps.authenticate(request);
  if (typeof body.model !== 'string' || !body.model) throw badRequest('model', 'required');
  call.attribution = readAttribution(request.headers, body, call.principal);
  const deployment = deps.router.resolve(body.model);
  if (!deployment) {
    throw new AppError('not_found', `model ${body.model} is not served here (GET /v1/models lists them)`, {
      param: 'model',
      type: 'invalid_request_error',
    });
  }
  if (!keyMayUse(call.principal.models, body.model)) {
    throw new AppError('forbidden', `this key may not call model ${body.model}`, { param: 'model' });
  }
  call.deployment = deployment;
  call.provider = deployment.provider;
  call.prices = deployment.pricing.at(call.startedAt);
  call.billProviderCost = deps.billProviderCost;
  checkMockResponse(body, call.principal, deps.mockResponseKeyAliases);
  if (call.callType === 'responses') call.responses = await deps.responsesItems.open(body, deployment, call.principal);
  screenCall(deps.guards, call, body);
  const bound = readOutputBound(call.callType, body, deployment);
  const built = buildExchange({
    callType: call.callType,
    body,
    deployment,
    clientHeaders: request.headers,
    upstream: deps.upstream,
    maxTokens: bound.maxTokens,
  });
  const exchange = call.responses?.wrap(built) ?? built;
  call.provider = exchange.provider;
  call.promptBody = body;
  call.promptTokensBound = promptTokenBound(call.callType, body);
  // Reserved at the tier the caller asks for (a priority tier may cost more than the standard one).
  const requestedTier = serviceTierOf(body.service_tier);
  call.reservedCostNano = worstCaseOf(call.prices?.tier(requestedTier) ?? null, call.promptTokensBound, bound);
  if (deps.storePrompts) call.prompt = JSON.stringify(promptOf(call.callType, body) ?? null);
  await admit(deps.guards, call, bound.maxTokens * bound.choices, reply);

  call.forwarded = true;
  const upstreamStart = call.elapsedMs();
  call.forwardedAtMs = upstreamStart;
  const response = await exchange.send(abort);
  call.upstreamAnsweredAtMs = call.elapsedMs();
  if (response.status >= 400) throw await readUpstreamError(response);
  call.answered = true;
  const beforeEnd = async () => {
    await Promise.all([finishCall(call, deps, request.log), call.responses?.save()]);
  };
  if (call.stream) await relayStream(call, exchange, response, reply, upstreamStart, call.elapsedMs(), beforeEnd);
  else await relayJson(call, exchange, response, reply, upstreamStart, beforeEnd);
}

/**
 * Answers a call that failed. The call is finished (settled, its record durable) before the answer is sent;
 * a client already gone gets nothing, and its call is finished by the caller.
 */
async function answerFailure(
  deps: ProxyDeps,
  call: CallState,
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (call.clientGone) {
    call.errorType = 'client_disconnected';
    // 499 (nginx's "client closed request") when no status reached the client; a started stream keeps its 200.
    call.status ||= 499;
    return;
  }
  const failure = describeFailure(err);
  if (failure.unexpected) request.log.error({ err, requestId: call.requestId }, 'proxy call failed');
  call.errorType = failure.errorType;
  const format = call.callType === 'messages' ? 'anthropic' : 'openai';
  if (reply.raw.headersSent) {
    // The stream had started: the status is spent, so the error travels as a final event.
    const payload = errorPayload(format, failure.info);
    const frame = format === 'anthropic' ? anthropicFrame(payload as { type: string }) : openAIFrame(payload);
    // A Responses stream ends in its own `response.failed` event (no [DONE]).
    const responsesFrames = call.responses?.failureFrames(failure.info).join('');
    await finishCall(call, deps, request.log);
    if (!reply.raw.destroyed) {
      reply.raw.end(responsesFrames || (format === 'openai' ? frame + OPENAI_DONE_FRAME : frame));
    }
    return;
  }
  call.status = failure.status;
  await finishCall(call, deps, request.log);
  reply.code(failure.status).headers(failure.headers).type('application/json').send(errorPayload(format, failure.info));
}

function startCall(callType: CallType, reply: FastifyReply): CallState {
  const call = new CallState(callType);
  reply.header('x-spend-request-id', call.requestId).header('x-litellm-call-id', call.requestId);
  return call;
}

export async function handleCall(deps: ProxyDeps, callType: CallType, request: FastifyRequest, reply: FastifyReply) {
  const call = startCall(callType, reply);
  // The call's one controller: a client disconnect aborts the upstream request (so does a JSON deadline).
  const abort = new AbortController();
  reply.raw.on('close', () => {
    if (reply.raw.writableFinished) return;
    call.clientGone = true;
    abort.abort();
  });
  try {
    await runCall(deps, call, request, reply, abort);
  } catch (err) {
    await answerFailure(deps, call, err, request, reply);
  } finally {
    await finishCall(call, deps, request.log);
  }
  return reply;
}

/** A call fastify refused before the handler ran (body not JSON, too large): answered and recorded like any. */
export async function handleRejectedCall(
  deps: ProxyDeps,
  callType: CallType,
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const call = startCall(callType, reply);
  // Authenticated before the body was read (a 413 or unparsable body of a known key is the key's call).
  call.principal = request.principal ?? null;
  await answerFailure(deps, call, err, request, reply);
  await finishCall(call, deps, request.log);
  return reply;
}
