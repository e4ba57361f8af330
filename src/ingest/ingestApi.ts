// POST /ingest/v1/records: spend records for calls that did not pass through the proxy. Body: a JSON array,
// one JSON object, `{"records": [...]}` or NDJSON; gzip accepted (Content-Encoding: gzip); size-limited
// after decompression. Each record is validated on its own and answered accepted / duplicate / rejected
// (with the field and the reason): one bad record never sinks the good ones (src/ingest/acceptRecords.ts).
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requirePermission } from '../auth/plugin.js';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { acceptRecords } from './acceptRecords.js';
import { createIngestPricer } from './pricing.js';

export const MAX_RECORDS_PER_REQUEST = 100_000;

/** Body → list of raw records (JSON array, object, {records: []} or NDJSON). Unparseable NDJSON lines stay as errors. */
export function parseRecords(text: string): unknown[] {
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

export async function ingestRecordsRoute(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const maxBytes = config.ingest.maxBodyBytes;
  const price = createIngestPricer(config);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));

  app.post('/ingest/v1/records', { bodyLimit: maxBytes }, async (request: FastifyRequest) => {
    const principal = await requirePermission(app, request, 'ingest');
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let raws: unknown[];
    try {
      raws = parseRecords(decodeBody(body, request.headers['content-encoding'], maxBytes));
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('bad_request', `body is not JSON or NDJSON: ${(err as Error).message}`);
    }
    if (raws.length > MAX_RECORDS_PER_REQUEST) {
      throw new AppError('payload_too_large', `at most ${MAX_RECORDS_PER_REQUEST} records per request`);
    }
    return acceptRecords(
      {
        redis: app.redis,
        warehouse: app.warehouse,
        producer: app.spendProducer,
        price,
        storePrompts: config.storePrompts,
        warn: (message) => request.log.warn(message),
        chargeBudgets: app.hasDecorator('budgetCharger') ? app.budgetCharger : undefined,
        // A team's ingest key writes (and charges) only its own team's spend.
        team: !principal.isAdmin && principal.teamId ? principal.teamId : undefined,
      },
      raws,
    );
  });
}
