// Structured JSON logs (pino, through fastify) never carry credentials: whatever a log line includes —
// a request's headers, an upstream target's headers, a config — these paths are censored. Prompt and
// response text is never logged by the proxy (records carry it, only when store_prompts is on).
// URLs carry secrets too (LiteLLM clients send `/key/info?key=sk-…`, `?api_key=sk-…`,
// `POST /key/sk-…/regenerate`): `redactUrl` is the one place that masks them, used by the request
// serializer below, by error messages that echo a path, and for service URLs with a password.
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const REDACTED = '[REDACTED]';

export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  // Provider credentials (Gemini's key header, AWS SigV4 headers and config fields).
  'req.headers["x-goog-api-key"]',
  'headers["x-goog-api-key"]',
  'req.headers["x-amz-security-token"]',
  'headers["x-amz-security-token"]',
  'res.headers["set-cookie"]',
  '*.api_key',
  '*.master_key',
  '*.password',
  '*.aws_secret_access_key',
  '*.aws_session_token',
  // Organization admin keys of the providers (reconciliation.openai / .anthropic).
  '*.admin_key',
];

/** Query parameters whose value is a credential (or a key's hash, which names a key as well as its secret). */
const SECRET_PARAMS = new Set([
  'key',
  'api_key',
  'apikey',
  'api-key',
  'x-api-key',
  'token',
  'access_token',
  'master_key',
  'password',
  'secret',
  'key_hash',
]);

/** Anything shaped like an OpenAI/Anthropic/Spendhouse/LiteLLM key (`sk-…`, `sk-proj-…`, `sk-ant-…`). */
const KEY_TOKEN = /\bsk-[A-Za-z0-9._~%-]+/g;
/** LiteLLM's `/key/{key}/regenerate`: the segment is a secret (or its hash) whatever it looks like. */
const KEY_PATH_SEGMENT = /(\/key\/)[^/?#]+(\/regenerate)/gi;

/** Masks every `sk-…` token in free text (error messages, stacks). */
export function redactSecrets(text: string): string {
  return text.replace(KEY_TOKEN, REDACTED);
}

function paramName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * A URL (`/path?query` as a request sees it, or an absolute URL) with its secrets replaced by `[REDACTED]`:
 * a userinfo password, `sk-…` tokens anywhere, the values of key/token/password query parameters, and the key
 * segment of `/key/…/regenerate`. Never throws: a URL it cannot parse is still masked token by token.
 */
export function redactUrl(url: string): string {
  let out = url;
  // [scheme://]user:password@host — service URLs (ClickHouse, Redis) printed at boot or in errors; a request
  // URL starts with '/' and never matches.
  out = out.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?[^/@:?#]*:)[^/@?#]*@/i, `$1${REDACTED}@`);
  const q = out.indexOf('?');
  let path = q < 0 ? out : out.slice(0, q);
  let query = q < 0 ? null : out.slice(q + 1);
  path = path.replace(KEY_PATH_SEGMENT, `$1${REDACTED}$2`);
  if (query !== null) {
    query = query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return pair;
        return SECRET_PARAMS.has(paramName(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
      })
      .join('&');
  }
  return redactSecrets(query === null ? path : `${path}?${query}`);
}

/**
 * Fastify's own request serializer, with the URL redacted (it is what every "incoming request" line holds).
 * It also sees any `req` a caller logs by hand, which need not be a request: nothing here may throw.
 */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : undefined,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

const redaction = {
  redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
  serializers: { req: serializeRequest },
};

/** Adds the redaction to a logger setting (`true` or options); `false` and custom instances pass through. */
export function withLogRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === true) return redaction;
  if (!logger || typeof logger !== 'object') return logger;
  return { ...logger, ...redaction, serializers: { ...logger.serializers, ...redaction.serializers } };
}
