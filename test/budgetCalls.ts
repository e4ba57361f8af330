// Test helpers for budget tests: run every registered CallGuard around a simulated call (the proxy's job),
// and call the management API the way curl does.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../src/auth/principal.js';
import type { Admission, CallContext } from '../src/callGuards.js';
import { AppError } from '../src/errors.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

export async function principalFor(app: FastifyInstance, secret: string): Promise<Principal> {
  return app.authenticate({ headers: { authorization: `Bearer ${secret}` } } as unknown as FastifyRequest);
}

export interface SimulatedCall {
  model?: string;
  customerId?: string | null;
  tags?: string[];
  maxCostNano: number;
  costNano: number;
  promptTokens?: number;
  completionTokens?: number;
  now?: Date;
  requestId?: string;
}

export type CallResult = { ok: true; headers: Record<string, string> } | { ok: false; error: AppError };

export function callContext(principal: Principal, call: SimulatedCall): CallContext {
  return {
    requestId: call.requestId ?? randomUUID(),
    principal,
    model: call.model ?? 'gpt-4o',
    provider: 'openai',
    upstreamModel: call.model ?? 'gpt-4o',
    callType: 'chat',
    customerId: call.customerId ?? null,
    tags: call.tags ?? [],
    promptTokens: call.promptTokens ?? 10,
    maxCompletionTokens: 100,
    maxCostNano: call.maxCostNano,
    now: call.now ?? new Date(),
  };
}

/** admit() on every guard, then settle() each admitted one: what the proxy does around an upstream call. */
export async function simulateCall(
  app: FastifyInstance,
  principal: Principal,
  call: SimulatedCall,
): Promise<CallResult> {
  const ctx = callContext(principal, call);
  const admitted: Admission[] = [];
  try {
    for (const guard of app.callGuards.admitters) admitted.push(await guard.admit(ctx));
  } catch (err) {
    for (const a of admitted)
      await a.settle({ costNano: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, status: 499 });
    if (err instanceof AppError) return { ok: false, error: err };
    throw err;
  }
  const completion = call.completionTokens ?? 20;
  for (const a of admitted) {
    await a.settle({
      costNano: call.costNano,
      promptTokens: ctx.promptTokens,
      completionTokens: completion,
      totalTokens: ctx.promptTokens + completion,
      status: 200,
    });
  }
  return { ok: true, headers: Object.assign({}, ...admitted.map((a) => a.headers ?? {})) };
}

/** POST like `curl -d '<json>'`: no content type given, so curl labels the JSON form-urlencoded. */
export async function curlPost(app: FastifyInstance, url: string, body: unknown, key = TEST_MASTER_KEY) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

/** Rows as the ingest worker would write them (only the columns budgets read). */
export async function insertSpend(
  app: FastifyInstance,
  rows: {
    request_id: string;
    start: Date;
    cost_nano: number;
    team_id?: string;
    user_id?: string;
    key_hash?: string;
    customer_id?: string;
    model?: string;
    tags?: string[];
  }[],
): Promise<void> {
  await app.warehouse.insert(
    'spend_logs',
    rows.map((r) => ({
      request_id: r.request_id,
      start_time: Math.floor(r.start.getTime() / 1000),
      start_time_ms: r.start.getTime(),
      end_time_ms: r.start.getTime(),
      status: 200,
      team_id: r.team_id ?? '',
      user_id: r.user_id ?? '',
      key_hash: r.key_hash ?? '',
      customer_id: r.customer_id ?? '',
      model: r.model ?? 'gpt-4o',
      tags: r.tags ?? [],
      cost_nano: r.cost_nano,
      cost_status: 'priced',
      source: 'proxy',
    })),
  );
}

/** Deletes every Redis key of the test's prefix: budget counters, reservations, cache, epoch. */
export async function flushRedis(app: FastifyInstance, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await app.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    // SCAN returns full names; DEL through the prefixed client would prefix them again.
    if (keys.length) deleted += await app.redis.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
  return deleted;
}
