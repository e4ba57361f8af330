// One error type for the whole app. The code is a closed enum with an exhaustive code→status map; the
// handler in http/errorHandler.ts renders the OpenAI error shape that SDKs already parse.

export const errorStatus = {
  bad_request: 400,
  invalid_request_error: 400,
  content_blocked: 400,
  unauthorized: 401,
  forbidden: 403,
  policy_violation: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  budget_exceeded: 429,
  rate_limit_exceeded: 429,
  upstream_error: 502,
  upstream_timeout: 504,
  service_unavailable: 503,
  internal_error: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatus;

export interface AppErrorOptions {
  /** The request field at fault (`model`, `tags[3]`, `max_budget`) — OpenAI's `param`. */
  param?: string | null;
  /** Status override, used only to pass an upstream provider's status through unchanged. */
  status?: number;
  /** OpenAI `type`; defaults to the code. */
  type?: string;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly param: string | null;
  readonly type: string;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status ?? errorStatus[code];
    this.param = options.param ?? null;
    this.type = options.type ?? code;
    this.headers = options.headers ?? {};
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

export function errorBody(err: AppError): OpenAIErrorBody {
  return { error: { message: err.message, type: err.type, code: err.code, param: err.param } };
}

export const badRequest = (param: string, message: string) =>
  new AppError('bad_request', `${param}: ${message}`, { param });
