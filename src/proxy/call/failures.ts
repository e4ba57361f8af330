// How a failed call is answered and recorded. Upstream HTTP errors keep their status (a provider's 429 is
// the client's 429, never a proxy 5xx) and their message/type/code, re-shaped for the client's SDK:
// OpenAI's `{"error":{…}}` or Anthropic's `{"type":"error","error":{…}}`.
import { AppError } from '../../errors.js';
import { toAppError } from '../../http/errorHandler.js';
import { type ClientFormat, isRecord } from '../exchange/types.js';
import type { UpstreamResponse } from '../upstream.js';

export interface ErrorInfo {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly info: ErrorInfo,
    readonly headers: Record<string, string>,
  ) {
    super(info.message);
    this.name = 'UpstreamHttpError';
  }
}

const MAX_ERROR_BODY = 64 * 1024;
/** Provider headers worth passing on with an error: SDKs honour them when retrying. */
const PASSED_ERROR_HEADERS = [
  'retry-after',
  'retry-after-ms',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
];

export async function readUpstreamError(response: UpstreamResponse): Promise<UpstreamHttpError> {
  let text = '';
  for await (const chunk of response.body) {
    if (text.length < MAX_ERROR_BODY) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (a gateway's HTML page): the status still says what happened.
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  const info: ErrorInfo = {
    message: str(error.message) ?? (text.slice(0, 500) || `the model provider answered ${response.status}`),
    type: str(error.type) ?? (response.status >= 500 ? 'api_error' : 'invalid_request_error'),
    code: str(error.code) ?? (typeof error.code === 'number' ? String(error.code) : null),
    param: str(error.param),
  };
  const headers: Record<string, string> = {};
  for (const name of PASSED_ERROR_HEADERS) {
    const value = response.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return new UpstreamHttpError(response.status, info, headers);
}

export interface Failure {
  status: number;
  info: ErrorInfo;
  headers: Record<string, string>;
  /** `error_type` of the record. */
  errorType: string;
  /** Unexpected errors are logged; their body says only "internal error". */
  unexpected: boolean;
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof UpstreamHttpError) {
    return { status: err.status, info: err.info, headers: err.headers, errorType: err.info.type, unexpected: false };
  }
  const appError: AppError = toAppError(err);
  return {
    status: appError.status,
    info: { message: appError.message, type: appError.type, code: appError.code, param: appError.param },
    headers: appError.headers,
    errorType: appError.code,
    unexpected: !(err instanceof AppError) && appError.status >= 500,
  };
}

export function errorPayload(format: ClientFormat, info: ErrorInfo): unknown {
  if (format === 'anthropic') return { type: 'error', error: { type: info.type, message: info.message } };
  return { error: info };
}
