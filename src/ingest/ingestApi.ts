// POST /ingest/v1/records: spend records for calls that did not pass through the proxy. Body: a JSON array,
// one JSON object, `{"records": [...]}` or NDJSON; gzip accepted (Content-Encoding: gzip); size-limited
// after decompression. Each record is validated on its own and answered accepted / duplicate / rejected
// (with the field and the reason): one bad record never sinks the good ones. Accepted records are claimed
// by request_id (a second copy is a duplicate) and queued before the response, so "accepted" means durable.
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import type { SpendRecord } from '../spendRecord.js';
import { claimRequestIds, existingRequestIds, releaseClaims } from './dedup.js';
import { toCandidate } from './ingestInput.js';
import { createIngestPricer, type IngestPricer } from './pricing.js';
import { insertableRecordSchema } from './rows.js';

export const MAX_RECORDS_PER_REQUEST = 100_000;
/** A claim outlives any normal queue backlog; after it expires ClickHouse itself answers "duplicate". */
const CLAIM_TTL_SECONDS = 24 * 3600;
/** Records per queued job (the worker inserts a job at a time). */
const JOB_RECORDS = 5000;

export interface RecordResult {
  index: number;
  request_id: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  errors?: { field: string; reason: string }[];
}

/** Body → list of raw records (JSON array, object, {records: []} or NDJSON). Unparseable NDJSON lines stay as errors. */
export function parseRecords(text: string): (unknown | SyntaxError)[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed)) throw new SyntaxError('expected a JSON array');
    return parsed;
  }
  try {
    const single: unknown = JSON.parse(trimmed);
    if (single && typeof single === 'object' && Array.isArray((single as { records?: unknown }).records)) {
      return (single as { records: unknown[] }).records;
    }
    return [single];
  } catch {
    return trimmed
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as unknown;
        } catch (err) {
          return err as SyntaxError;
        }
      });
  }
}

function decodeBody(body: Buffer, encoding: string | undefined, maxBytes: number): string {
  if (!encoding || encoding === 'identity') return body.toString('utf8');
  if (encoding !== 'gzip') throw new AppError('bad_request', `unsupported Content-Encoding ${encoding}; use gzip`);
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError('payload_too_large', `body is larger than ${maxBytes} bytes once decompressed`);
    }
    throw new AppError('bad_request', 'body is not valid gzip');
  }
}

/** One raw record → a valid, priced SpendRecord, or its rejection with the fields at fault. */
function validateRecord(
  raw: unknown,
  storePrompts: boolean,
  price: IngestPricer,
): { record: SpendRecord } | Omit<RecordResult, 'index'> {
  const rejected = (field: string, reason: string) => ({
    request_id: null,
    status: 'rejected' as const,
    errors: [{ field, reason }],
  });
  if (raw instanceof SyntaxError) return rejected('(line)', `not JSON: ${raw.message}`);
  const candidate = toCandidate(raw);
  if (!candidate) return rejected('(record)', 'expected a JSON object');
  if (!storePrompts) {
    delete candidate.record.messages;
    delete candidate.record.response;
  }
  const parsed = insertableRecordSchema.safeParse(candidate.record);
  if (!parsed.success) {
    const requestId = typeof candidate.record.request_id === 'string' ? candidate.record.request_id : null;
    const errors = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(record)', reason: i.message }));
    return { request_id: requestId, status: 'rejected', errors };
  }
  const record = parsed.data;
  if (candidate.needsPricing) Object.assign(record, price(record));
  return { record };
}

export async function ingestRecordsRoute(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const maxBytes = config.ingest.maxBodyBytes;
  const price = createIngestPricer(config);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));

  app.post('/ingest/v1/records', { bodyLimit: maxBytes }, async (request: FastifyRequest) => {
    await requireAdmin(app, request);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let raws: (unknown | SyntaxError)[];
    try {
      raws = parseRecords(decodeBody(body, request.headers['content-encoding'], maxBytes));
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('bad_request', `body is not JSON or NDJSON: ${(err as Error).message}`);
    }
    if (raws.length > MAX_RECORDS_PER_REQUEST) {
      throw new AppError('payload_too_large', `at most ${MAX_RECORDS_PER_REQUEST} records per request`);
    }

    const results: RecordResult[] = [];
    const fresh: { index: number; record: SpendRecord }[] = [];
    const seenInBody = new Set<string>();
    raws.forEach((raw, index) => {
      const outcome = validateRecord(raw, config.storePrompts, price);
      if ('status' in outcome) results.push({ index, ...outcome });
      else if (seenInBody.has(outcome.record.request_id)) {
        results.push({ index, request_id: outcome.record.request_id, status: 'duplicate' });
      } else {
        seenInBody.add(outcome.record.request_id);
        fresh.push({ index, record: outcome.record });
      }
    });

    const batchId = randomUUID();
    const claimed = await claimRequestIds(
      app.redis,
      fresh.map((f) => f.record.request_id),
      batchId,
      CLAIM_TTL_SECONDS,
    );
    const newlyClaimed = fresh.filter((_f, i) => claimed[i]);
    // Ids stored longer ago than a claim lives. If ClickHouse is down the API still accepts: the worker
    // repeats this check on every ingest batch before inserting, so a re-sent record still counts once.
    const stored = await existingRequestIds(
      app.warehouse,
      newlyClaimed.map((f) => ({
        request_id: f.record.request_id,
        start_time: Math.floor(Date.parse(f.record.start_time) / 1000),
      })),
    ).catch((err: Error) => {
      request.log.warn({ err: err.message }, 'ingest: duplicate check against ClickHouse skipped');
      return new Set<string>();
    });
    const accepted = newlyClaimed.filter((f) => !stored.has(f.record.request_id));
    for (let i = 0; i < accepted.length; i += JOB_RECORDS) {
      const chunk = accepted.slice(i, i + JOB_RECORDS);
      try {
        await app.spendProducer.enqueue(
          chunk.map((c) => c.record),
          'ingest',
          `${batchId}-${i / JOB_RECORDS}`,
        );
      } catch (err) {
        // Nothing from this chunk on is queued: give the ids back so the caller's retry is not a "duplicate".
        await releaseClaims(
          app.redis,
          accepted.slice(i).map((c) => c.record.request_id),
        ).catch(() => {});
        throw new AppError('service_unavailable', 'the spend queue is unavailable; retry the request', { cause: err });
      }
    }
    const acceptedIndexes = new Set(accepted.map((a) => a.index));
    for (const f of fresh) {
      results.push({
        index: f.index,
        request_id: f.record.request_id,
        status: acceptedIndexes.has(f.index) ? 'accepted' : 'duplicate',
      });
    }
    results.sort((a, b) => a.index - b.index);
    const count = (status: RecordResult['status']) => results.filter((r) => r.status === status).length;
    return { accepted: count('accepted'), duplicate: count('duplicate'), rejected: count('rejected'), results };
  });
}
