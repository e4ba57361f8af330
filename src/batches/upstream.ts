// HTTP to an OpenAI account's Files and Batches endpoints. A BatchTarget is an account (api_base + key +
// organization), not a model: files and batches live in the account, whichever model their lines name.
import { Agent, type FormData, request } from 'undici';
import type { z } from 'zod';
import { AppError } from '../errors.js';

export interface BatchTarget {
  /** Stable id of the account (a hash of api_base, key and organization), stored with files and batches. */
  id: string;
  apiBase: string;
  headers: Record<string, string>;
}

const TIMEOUT_MS = 120_000;

export interface UpstreamAnswer {
  status: number;
  body: Buffer;
}

/** Longest upstream body read into memory (an output file of 50,000 long answers fits). */
const MAX_UPSTREAM_BYTES = 512 * 1024 * 1024;

export class BatchUpstream {
  private readonly agent = new Agent({ keepAliveTimeout: 4_000 });

  async call(
    target: BatchTarget,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: { json: unknown } | { form: FormData },
  ): Promise<UpstreamAnswer> {
    const headers: Record<string, string> = { ...target.headers };
    let payload: string | FormData | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) payload = body.form;
    try {
      const response = await request(`${target.apiBase}${path}`, {
        dispatcher: this.agent,
        method,
        headers,
        body: payload,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > MAX_UPSTREAM_BYTES) {
          response.body.destroy();
          throw new AppError('upstream_error', `the provider's answer is larger than ${MAX_UPSTREAM_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return { status: response.statusCode, body: Buffer.concat(chunks) };
    } catch (err) {
      if (err instanceof AppError) throw err;
      const code = (err as { code?: string }).code ?? 'connection error';
      throw new AppError('upstream_error', `the model provider could not be reached (${code})`, { cause: err });
    }
  }

  /** A JSON answer checked against `schema`; a provider error is passed through with its own status. */
  async json<S extends z.ZodType>(
    target: BatchTarget,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    body?: { json: unknown } | { form: FormData },
  ): Promise<z.infer<S>> {
    const answer = await this.call(target, method, path, body);
    if (answer.status >= 400) throw failedAnswer(answer);
    const checked = schema.safeParse(parseJson(answer.body));
    if (!checked.success) throw new AppError('upstream_error', `the provider answered ${path} with an unexpected body`);
    return checked.data;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** A provider's error answer as an AppError (its JSON error message kept when it sent one). */
export function failedAnswer(answer: UpstreamAnswer): AppError {
  return providerError(answer.status, parseJson(answer.body));
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

/** The provider's 4xx keeps its status and message (an SDK shows it as is); a 5xx is a 502. */
function providerError(status: number, body: unknown): AppError {
  const error = (body as { error?: { message?: unknown; param?: unknown } } | null)?.error;
  const message = typeof error?.message === 'string' ? error.message.slice(0, 1000) : `status ${status}`;
  if (status >= 400 && status < 500) {
    return new AppError('bad_request', `the provider refused: ${message}`, {
      status,
      type: 'invalid_request_error',
      param: typeof error?.param === 'string' ? error.param : null,
    });
  }
  return new AppError('upstream_error', `the provider failed (status ${status})`);
}
