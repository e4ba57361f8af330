// OpenAI's Files and Batches objects as Spendhouse reads them (https://platform.openai.com/docs/api-reference/batch).
// Only the fields we act on are checked; everything else the provider sends is kept and passed through, so
// an SDK sees the provider's object unchanged.
import { z } from 'zod';
import { badRequest } from '../errors.js';

/** Ids we put into URLs and ClickHouse: OpenAI's are `file-…` / `batch_…`; anything else is refused. */
const UPSTREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,95}$/;

export function checkId(value: unknown, param: string): string {
  if (typeof value !== 'string' || !UPSTREAM_ID.test(value)) {
    throw badRequest(param, 'expected an id of letters, digits, "-" and "_" (at most 96 characters)');
  }
  return value;
}

const unixSeconds = z.number().int().nonnegative();
const upstreamId = z.string().regex(UPSTREAM_ID);

export const fileObjectSchema = z.looseObject({
  id: upstreamId,
  object: z.literal('file').optional(),
  bytes: z.number().int().nonnegative().optional(),
  created_at: unixSeconds,
  filename: z.string().optional(),
  purpose: z.string(),
});
export type FileObject = z.infer<typeof fileObjectSchema>;

/** Statuses after which a batch changes no more (its output and error files are final). */
const TERMINAL_STATUSES = ['completed', 'failed', 'expired', 'cancelled'] as const;

export const batchObjectSchema = z.looseObject({
  id: upstreamId,
  object: z.literal('batch').optional(),
  endpoint: z.string(),
  input_file_id: z.string(),
  completion_window: z.string().optional(),
  status: z.string(),
  output_file_id: upstreamId.nullable().optional(),
  error_file_id: upstreamId.nullable().optional(),
  created_at: unixSeconds,
  completed_at: unixSeconds.nullable().optional(),
  failed_at: unixSeconds.nullable().optional(),
  expired_at: unixSeconds.nullable().optional(),
  cancelled_at: unixSeconds.nullable().optional(),
});
export type BatchObject = z.infer<typeof batchObjectSchema>;

export function isTerminal(batch: BatchObject): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(batch.status);
}

/** When a terminal batch ended (seconds): its own timestamp for the status, else its creation. */
export function endedAt(batch: BatchObject): number {
  return batch.completed_at ?? batch.cancelled_at ?? batch.expired_at ?? batch.failed_at ?? batch.created_at;
}

/** One line of a batch's output or error file. */
export const resultLineSchema = z.looseObject({
  id: z.string().max(256).optional(),
  custom_id: z.string().min(1).max(512),
  response: z
    .looseObject({
      status_code: z.number().int(),
      request_id: z.string().optional(),
      body: z.unknown(),
    })
    .nullable()
    .optional(),
  error: z
    .looseObject({ code: z.string().nullable().optional(), message: z.string().optional() })
    .nullable()
    .optional(),
});
export type ResultLine = z.infer<typeof resultLineSchema>;

/** The service tier batch lines are priced at (src/pricing/serviceTiers.ts: half price on every token). */
export const BATCH_TIER = 'batch';

/** The endpoints a batch may target here, with the call type its records carry. */
export const BATCH_ENDPOINTS = {
  '/v1/chat/completions': 'chat',
  '/v1/embeddings': 'embedding',
} as const;
export type BatchEndpoint = keyof typeof BATCH_ENDPOINTS;
export const batchEndpointSchema = z.enum(['/v1/chat/completions', '/v1/embeddings']);

export function isBatchEndpoint(value: unknown): value is BatchEndpoint {
  return typeof value === 'string' && Object.hasOwn(BATCH_ENDPOINTS, value);
}
