// Request plumbing shared by the management routes: LiteLLM-style bodies (JSON even when curl -d labels
// it form-urlencoded), strict parsing that names the offending field, pagination and key references.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { hashKey } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { zodErrorToAppError } from '../http/errorHandler.js';
import { parseBoundedJson } from '../http/jsonBody.js';

const FORM = 'application/x-www-form-urlencoded';

/**
 * `curl -d '{…}'` without a content type sends application/x-www-form-urlencoded; LiteLLM reads such bodies
 * as JSON, and so do the management routes (this parser is registered in their encapsulated scope only).
 */
export function acceptJsonAsForm(app: FastifyInstance): void {
  // Replaces (in this scope only) any form parser another plugin registered on the root.
  if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, {});
    try {
      done(null, parseBoundedJson(text, 'body'));
    } catch (err) {
      if (err instanceof AppError) return done(err, undefined);
      done(
        new AppError('bad_request', 'request body must be a JSON object', { type: 'invalid_request_error' }),
        undefined,
      );
    }
  });
}

/** Parses with a strict schema; unknown fields and bad values become a 400 whose `param` is the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  // One formatter for every zod failure: wrong types named as such ("expected an integer, got 1.5").
  throw zodErrorToAppError(result.error);
}

/** A key given as the secret (`sk-…`) or as its hash (the `token` of /key/info). */
export function keyReference(value: string): string {
  return /^[0-9a-f]{64}$/.test(value) ? value : hashKey(value);
}

export function pageOf(page: number, size: number): { offset: number; limit: number } {
  return { offset: (page - 1) * size, limit: size };
}

export const totalPages = (total: number, size: number) => Math.max(1, Math.ceil(total / size));
