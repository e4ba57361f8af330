// The screen and observation phases of the call guards (src/proxy/callGuards.ts): `screen` before the
// upstream request is built (guardrails rewrite or refuse the text) and `observe` once the call's record
// exists (metrics). Kept out of handleCall so the proxy's flow reads the same with or without them.
import type { FastifyBaseLogger } from 'fastify';
import type { CallGuards } from '../../callGuards.js';
import type { CallState } from './callState.js';
import type { ProxyDeps } from './handleCall.js';

export function screenCall(guards: CallGuards, call: CallState, body: Record<string, unknown>): void {
  if (!call.principal) return;
  for (const screener of guards.screeners) {
    const screening = screener.screen({
      callType: call.callType,
      principal: call.principal,
      body,
      metadata: call.attribution.metadata,
    });
    if (screening?.maskStoredText) call.storedTextMasks.push(screening.maskStoredText);
  }
}

/** Finishes the call (settle + record) and shows the record to the observing guards. */
export async function finishCall(
  call: CallState,
  deps: Pick<ProxyDeps, 'guards' | 'sink' | 'storePrompts'>,
  log: FastifyBaseLogger,
): Promise<void> {
  const record = await call.finish(deps.sink, deps.storePrompts, log);
  if (!record) return;
  const timings = { forwardedAtMs: call.forwardedAtMs, upstreamAnsweredAtMs: call.upstreamAnsweredAtMs };
  for (const observer of deps.guards.observers) {
    try {
      observer.observe(record, timings);
    } catch (err) {
      log.error({ err, requestId: call.requestId }, `call observer ${observer.name} failed`);
    }
  }
}
