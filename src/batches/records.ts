// One SpendRecord per line of a finished batch's output and error files, attributed like the call that
// created the batch and priced at the batch service tier (OpenAI: half the standard price on every token
// dimension, cached input included — src/pricing/serviceTiers.ts). Everything in a record is derived from the batch and
// the line alone (request_id from batch id + custom_id, times from the batch's own timestamps), so writing
// the same line again yields the same record, which the ingest pipeline stores once.
import { createHash } from 'node:crypto';
import type { ModelPricing } from '../pricing/modelPricing.js';
import { priceCall } from '../pricing/priceCall.js';
import { type TokenUsage, usageFromOpenAI, usageRecordFields, ZERO_USAGE } from '../pricing/usage.js';
import { ADDED_FIELD_DEFAULTS, type SpendRecord } from '../spendRecord.js';
import type { BatchDoc } from './store.js';
import { BATCH_ENDPOINTS, BATCH_TIER, type BatchObject, endedAt, type ResultLine } from './wire.js';

/** What the poller knows of the model a batch's lines ran on. */
export interface BatchModel {
  upstreamModel: string;
  pricing: ModelPricing;
}

/** Deterministic and unique per line: the batch id, then a hash of the line's custom_id. */
function lineRequestId(batchId: string, customId: string): string {
  const digest = createHash('sha256').update(batchId).update('\0').update(customId).digest('hex');
  return `${batchId}:${digest.slice(0, 32)}`;
}

/**
 * A line without a response was never run: OpenAI writes `batch_expired` / `batch_cancelled` (and others)
 * into the error file. Its record carries no usage and a status saying why.
 */
function statusOf(line: ResultLine): { status: number; errorType: string | null } {
  const code = line.response?.status_code;
  if (typeof code === 'number' && code >= 100 && code <= 599) {
    const errorType = code >= 400 ? (line.error?.code ?? 'upstream_error') : null;
    return { status: code, errorType };
  }
  const errorCode = line.error?.code ?? 'batch_line_failed';
  if (errorCode === 'batch_expired') return { status: 408, errorType: errorCode };
  if (errorCode === 'batch_cancelled') return { status: 499, errorType: errorCode };
  return { status: 500, errorType: errorCode.slice(0, 128) };
}

const clip = (value: string, max: number) => (value.length > max ? value.slice(0, max) : value);

function bodyOf(line: ResultLine): Record<string, unknown> | null {
  const body = line.response?.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

export function lineRecord(doc: BatchDoc, batch: BatchObject, model: BatchModel, line: ResultLine): SpendRecord {
  const { status, errorType } = statusOf(line);
  const body = bodyOf(line);
  const usage: TokenUsage = (status < 400 ? usageFromOpenAI(body?.usage) : null) ?? ZERO_USAGE;
  const start = new Date(batch.created_at * 1000);
  const end = new Date(endedAt(batch) * 1000);
  const priced = priceCall(model.pricing.at(start), usage, { serviceTier: BATCH_TIER });
  const responseId = typeof body?.id === 'string' ? body.id : (line.id ?? null);
  const upstreamModel = typeof body?.model === 'string' ? body.model : model.upstreamModel;
  const a = doc.attribution;
  return {
    request_id: lineRequestId(doc.id, line.custom_id),
    response_id: responseId ? clip(responseId, 256) : null,
    start_time: start.toISOString(),
    end_time: end.toISOString(),
    duration_ms: Math.max(0, end.getTime() - start.getTime()),
    ttft_ms: null,
    call_type: BATCH_ENDPOINTS[doc.endpoint],
    status,
    error_type: errorType,
    key_hash: a.key_hash,
    key_alias: a.key_alias,
    user_id: a.user_id,
    team_id: a.team_id,
    customer_id: a.customer_id,
    model: doc.model,
    upstream_model: clip(upstreamModel, 256),
    provider: 'openai',
    ...ADDED_FIELD_DEFAULTS,
    ...usageRecordFields(usage),
    ...priced,
    service_tier: BATCH_TIER,
    usage_estimated: false,
    tags: a.tags,
    metadata: { ...a.metadata, batch_id: doc.id, batch_custom_id: line.custom_id },
    stream: false,
    source: 'batch',
  };
}
