// POST /ingest/v1/records: spend records for calls that did not pass through the proxy. Body: a JSON array,
// one JSON object, `{"records": [...]}` or NDJSON; gzip accepted (Content-Encoding: gzip); size-limited
// after decompression. Each record is validated on its own and answered accepted / duplicate / rejected
// (with the field and the reason): one bad record never sinks the good ones (src/ingest/acceptRecords.ts).
// The caller is authenticated before the body is read; the body is inflated and split into records as it
// arrives, with bounded work per turn of the event loop (recordBody.ts), and so is the answer (answerText).
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requirePermission } from '../auth/plugin.js';
import type { AppConfig } from '../config/load.js';
import { acceptRecords, type IngestOutcome } from './acceptRecords.js';
import { createIngestPricer } from './pricing.js';
import { readRecordBody } from './recordBody.js';
import { ingestScopeChecker } from './teamScope.js';
import { TimeSlicer } from './timeSlice.js';

export const MAX_RECORDS_PER_REQUEST = 100_000;

/** The outcome as JSON text, a thousand results per slice (100k results are megabytes of JSON). */
async function answerText(outcome: IngestOutcome): Promise<string> {
  const { results, ...counts } = outcome;
  const slicer = new TimeSlicer();
  const parts: string[] = [];
  for (let i = 0; i < results.length; i += 1000) {
    parts.push(
      results
        .slice(i, i + 1000)
        .map((r) => JSON.stringify(r))
        .join(','),
    );
    await slicer.slice();
  }
  return `${JSON.stringify(counts).slice(0, -1)},"results":[${parts.join(',')}]}`;
}

export async function ingestRecordsRoute(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const maxBytes = config.ingest.maxBodyBytes;
  const price = createIngestPricer(config);
  app.removeAllContentTypeParsers();
  // Any content type: the body becomes raw records while it streams in (the byte limits are enforced there).
  app.addContentTypeParser('*', (request, payload, done) => {
    const contentLength = request.headers['content-length'];
    readRecordBody(payload as Readable, {
      maxBytes,
      maxRecords: MAX_RECORDS_PER_REQUEST,
      encoding: request.headers['content-encoding'],
      contentLength: contentLength === undefined ? undefined : Number(contentLength),
    }).then(
      (records) => done(null, records),
      (err: Error) => done(err),
    );
  });

  // Authenticated on the request line, before a byte of the body is read.
  const authenticate = async (request: FastifyRequest) => {
    await requirePermission(app, request, 'ingest');
  };
  const checkScope = ingestScopeChecker(app.hasDecorator('controlPlane') ? app.controlPlane.cache : null);
  app.post('/ingest/v1/records', { onRequest: authenticate }, async (request, reply) => {
    const principal = await requirePermission(app, request, 'ingest');
    const raws: unknown[] = Array.isArray(request.body) ? request.body : [];
    const outcome = await acceptRecords(
      {
        redis: app.redis,
        warehouse: app.warehouse,
        producer: app.spendProducer,
        price,
        storePrompts: config.storePrompts,
        warn: (message) => request.log.warn(message),
        chargeBudgets: app.hasDecorator('budgetCharger') ? app.budgetCharger : undefined,
        // A team's ingest key writes (and charges) only its own team's spend; the master key, admins and
        // an ingest key without a team write any attribution.
        scope: !principal.isAdmin && principal.teamId ? checkScope(principal) : undefined,
      },
      raws,
    );
    return reply.type('application/json; charset=utf-8').send(await answerText(outcome));
  });
}
