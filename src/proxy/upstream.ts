// HTTP to providers through one undici Agent: a keep-alive connection pool per origin, so a busy proxy
// reuses sockets instead of paying TCP + TLS per call. Timeouts: `timeout` bounds a whole JSON call and the
// wait for a stream's first byte; `stream_timeout` bounds the silence between two stream chunks.
import { Agent, errors as undiciErrors } from 'undici';
import { AppError } from '../errors.js';

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array | string>;
}

export interface HttpTarget {
  url: string;
  headers: Record<string, string>;
}

export interface SendOptions {
  stream: boolean;
  timeoutMs: number;
  streamTimeoutMs: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export class UpstreamClient {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 300_000, connections: null });

  async send(target: HttpTarget, body: string, options: SendOptions): Promise<UpstreamResponse> {
    // A JSON call has one deadline for headers and body together; a stream only an idle limit once it flows.
    const deadline = options.stream ? null : AbortSignal.timeout(options.timeoutMs);
    const signal = deadline ? AbortSignal.any([options.signal, deadline]) : options.signal;
    const url = new URL(target.url);
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json' },
        body,
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.stream ? options.streamTimeoutMs : options.timeoutMs,
      });
      return { status: response.statusCode, headers: response.headers, body: guardedBody(response.body, deadline) };
    } catch (err) {
      throw upstreamFailure(err, deadline);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Maps body read failures (timeouts while streaming or reading JSON) the same way as send failures. */
async function* guardedBody(body: AsyncIterable<Uint8Array>, deadline: AbortSignal | null) {
  try {
    yield* body;
  } catch (err) {
    throw upstreamFailure(err, deadline);
  }
}

/** The client's own disconnect passes through untouched: the caller knows it asked for it. */
export function upstreamFailure(err: unknown, deadline: AbortSignal | null): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (deadline?.aborted || (code && TIMEOUT_CODES.has(code)) || err instanceof undiciErrors.HeadersTimeoutError) {
    return new AppError('upstream_timeout', 'the model provider did not answer in time', {
      type: 'timeout',
      cause: err,
    });
  }
  if ((err as Error).name === 'AbortError') return err;
  return new AppError('upstream_error', `the model provider could not be reached (${code ?? 'connection error'})`, {
    type: 'api_connection_error',
    cause: err,
  });
}
