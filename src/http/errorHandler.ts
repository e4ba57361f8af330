// Renders every error in OpenAI's shape `{"error":{"message","type","code","param"}}`. Client mistakes get
// a 4xx naming the field; anything unexpected is a 500 whose body never carries internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, errorBody } from '../errors.js';
import { describeIssue } from '../validation/describeIssue.js';
import { redactUrl } from './logRedaction.js';

/** A zod failure as a 400 naming the first field at fault; the message lists up to five problems. */
export function zodErrorToAppError(err: ZodError): AppError {
  const described = err.issues.slice(0, 5).map(describeIssue);
  const message = described.map((d) => d.text).join('; ') || 'invalid request';
  return new AppError('bad_request', message, { param: described[0]?.param ?? null, type: 'invalid_request_error' });
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return zodErrorToAppError(err);
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large', 'request body is too large');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: bad JSON, unsupported content type, validation.
    return new AppError('bad_request', fe.message ?? 'bad request', {
      status: fe.statusCode,
      type: 'invalid_request_error',
    });
  }
  return new AppError('internal_error', 'internal error', { cause: err });
}

export function sendError(reply: FastifyReply, err: AppError): FastifyReply {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  return reply.status(err.status).send(errorBody(err));
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(err);
    if (appError.status >= 500) request.log.error({ err }, 'request failed');
    return sendError(reply, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new AppError('not_found', `no route for ${request.method} ${redactUrl(request.url.split('?')[0] ?? '')}`),
    ),
  );
}
