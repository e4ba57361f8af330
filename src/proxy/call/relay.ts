// Sends the provider's answer to the client. JSON answers are read whole (usage sits at the end) and sent
// with the cost headers; streams are relayed event by event as they arrive, with backpressure, and the
// response is hijacked from fastify so nothing buffers the whole answer. Either way `beforeEnd` (settle the
// budgets, make the record durable) runs once the usage is known and before the answer's last bytes leave:
// a proxy killed after a client saw its answer complete has lost no record.
import { once } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../errors.js';
import { nanoToUsd } from '../../spendRecord.js';
import { type Exchange, isRecord } from '../exchange/types.js';
import { SseParser } from '../sse.js';
import type { UpstreamResponse } from '../upstream.js';
import type { CallState } from './callState.js';

const MAX_JSON_BYTES = 256 * 1024 * 1024;

async function readText(body: UpstreamResponse['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buffer.length;
    if (size > MAX_JSON_BYTES) throw new AppError('upstream_error', 'the model provider sent an oversized response');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function relayJson(
  call: CallState,
  exchange: Exchange,
  response: UpstreamResponse,
  reply: FastifyReply,
  upstreamStartMs: number,
  beforeEnd: () => Promise<void>,
): Promise<void> {
  const raw = await readText(response.body);
  const upstreamMs = call.elapsedMs() - upstreamStartMs;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = null;
  }
  if (!isRecord(json)) {
    throw new AppError('upstream_error', 'the model provider sent a response that is not a JSON object', {
      type: 'api_error',
    });
  }
  const result = exchange.fromJson(raw, json);
  call.reported = { usage: result.usage, complete: result.usage !== null };
  call.responseId = result.responseId;
  call.responseText = result.text;
  const cost = nanoToUsd(call.costOf((await call.finalUsage()).usage));
  call.status = 200;
  reply
    .code(200)
    .header('content-type', 'application/json')
    .header('x-spend-response-cost', cost)
    .header('x-litellm-response-cost', cost)
    .header('x-spend-overhead-ms', (call.elapsedMs() - upstreamMs).toFixed(2));
  await beforeEnd();
  reply.send(result.body);
}

class ClientGoneError extends Error {
  override readonly name = 'AbortError';
}

async function write(res: ServerResponse, frames: string[], call: CallState): Promise<void> {
  if (!frames.length) return;
  if (res.destroyed) throw new ClientGoneError('client disconnected');
  call.markFirstByte();
  if (!res.write(frames.length === 1 ? (frames[0] ?? '') : frames.join(''))) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
}

/** The frame that tells a client the stream is complete: OpenAI's `[DONE]`, Anthropic's `message_stop`. */
const TERMINAL_FRAME = /^(?:data: ?\[DONE\]|event: ?(?:message_stop|response\.(?:completed|failed|incomplete)))\r?$/m;

/**
 * Relays a stream. The terminal frame and anything after it are held until the upstream has ended and
 * `beforeEnd` has run (the usage arrives before it), so no client sees a complete stream unrecorded. The cost header cannot be known when headers are sent: stream costs are in the record.
 * `x-spend-overhead-ms` here is the proxy's time before the provider answered plus the time to start relaying.
 */
export async function relayStream(
  call: CallState,
  exchange: Exchange,
  response: UpstreamResponse,
  reply: FastifyReply,
  upstreamStartMs: number,
  upstreamHeadersMs: number,
  beforeEnd: () => Promise<void>,
): Promise<void> {
  const tap = exchange.streamTap();
  const parser = new SseParser();
  const headers: OutgoingHttpHeaders = {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-spend-overhead-ms': (call.elapsedMs() - (upstreamHeadersMs - upstreamStartMs)).toFixed(2),
  };
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, headers);
  call.status = 200;
  let held: string[] | null = null;
  const relay = async (frames: string[]) => {
    if (held) {
      held.push(...frames);
      return;
    }
    const terminal = frames.findIndex((frame) => TERMINAL_FRAME.test(frame));
    if (terminal === -1) return write(res, frames, call);
    held = frames.slice(terminal);
    await write(res, frames.slice(0, terminal), call);
  };
  try {
    // The frames completed by one upstream chunk go out in one write: as soon as they arrive, one syscall.
    for await (const chunk of response.body) await relay(parser.push(chunk).flatMap(tap.onEvent));
    const last = [...parser.finish().flatMap(tap.onEvent), ...tap.end()];
    call.takeFrom(tap);
    await beforeEnd();
    await write(res, [...(held ?? []), ...last], call);
    res.end();
  } finally {
    call.takeFrom(tap);
  }
}
