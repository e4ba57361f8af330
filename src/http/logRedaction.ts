// Structured JSON logs (pino, through fastify) never carry credentials: whatever a log line includes —
// a request's headers, an upstream target's headers, a config — these paths are censored. Prompt and
// response text is never logged by the proxy (records carry it, only when store_prompts is on).
import type { FastifyServerOptions } from 'fastify';

export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'res.headers["set-cookie"]',
  '*.api_key',
  '*.master_key',
  '*.password',
];

/** Adds the redaction to a logger setting (`true` or options); `false` and custom instances pass through. */
export function withLogRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === true) return { redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' } };
  if (!logger || typeof logger !== 'object') return logger;
  return { ...logger, redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' } };
}
