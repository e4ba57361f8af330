// HTTP to providers through one undici Agent: a keep-alive connection pool per origin, so a busy proxy
// reuses sockets instead of paying TCP + TLS per call. Timeouts: `timeout` bounds a whole JSON call and the
// wait for a stream's first byte; `stream_timeout` bounds the silence between two stream chunks.
import { Agent } from 'undici';
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
  /** The call's controller: the client's disconnect aborts it, and so does a JSON call's deadline. */
  abort: AbortController;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** The abort reason of a JSON call that outlived its `timeout`. */
class UpstreamDeadline extends Error {}

export class UpstreamClient {
  // Idle sockets are dropped after 4 s unless the server's Keep-Alive header allows longer: servers that
  // send no hint close idle sockets on their own schedule (Node's default is 5 s), and a POST written into a
  // socket the server is closing fails with ECONNRESET — a 502 to the client (seen in the proxy benchmark).
  private readonly agent = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 300_000, connections: null });

  async send(target: HttpTarget, body: string, options: SendOptions): Promise<UpstreamResponse> {
    const { abort } = options;
    // A JSON call has one deadline for headers and body together; a stream only an idle limit once it flows.
    const timer = options.stream
      ? null
      : setTimeout(() => abort.abort(new UpstreamDeadline('deadline')), options.timeoutMs);
    const done = () => {
      if (timer) clearTimeout(timer);
    };
    const url = new URL(target.url);
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'application/json' },
        body,
        signal: abort.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.stream ? options.streamTimeoutMs : options.timeoutMs,
      });
      return { status: response.statusCode, headers: response.headers, body: guardedBody(response.body, abort, done) };
    } catch (err) {
      done();
      throw upstreamFailure(err, abort);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Maps body read failures (timeouts while streaming or reading JSON) the same way as send failures. */
async function* guardedBody(body: AsyncIterable<Uint8Array>, abort: AbortController, done: () => void) {
  try {
    yield* body;
  } catch (err) {
    throw upstreamFailure(err, abort);
  } finally {
    done();
  }
}

/** The client's own disconnect passes through untouched: the caller knows it asked for it. */
function upstreamFailure(err: unknown, abort: AbortController): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  if (abort.signal.reason instanceof UpstreamDeadline || (code && TIMEOUT_CODES.has(code))) {
    return new AppError('upstream_timeout', 'the model provider did not answer in time', {
      type: 'timeout',
      cause: err,
    });
  }
  if (abort.signal.aborted) return err;
  return new AppError('upstream_error', `the model provider could not be reached (${code ?? 'connection error'})`, {
    type: 'api_connection_error',
    cause: err,
  });
}
