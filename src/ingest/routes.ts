// Ingest HTTP routes: the ingest API (POST /ingest/v1/records) and the admin views of the pipeline —
// status (queue depth, outage, counters), dead letters (list) and their replay.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.js';
import type { AppConfig } from '../config/load.js';
import { ingestRecordsRoute } from './ingestApi.js';

const listQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

async function ingestRoutes(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  // Its own encapsulated context: the ingest API parses bodies itself (NDJSON, gzip, larger limit).
  await app.register(ingestRecordsRoute, { config: opts.config });

  app.get('/ingest/v1/status', async (request) => {
    await requireAdmin(app, request);
    const counts = await app.spendProducer.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return {
      queue: counts,
      producer_pending: app.spendProducer.pending,
      // Proxied calls' records in the spend journal, not yet moved into a queued batch (any process moves them).
      journal_pending: await app.spendJournal.length(),
      dead_letters: await app.deadLetters.count(),
      worker: app.spendWorker?.status ?? null,
    };
  });

  app.get('/ingest/v1/dead-letters', async (request) => {
    await requireAdmin(app, request);
    const { offset, limit } = listQuery.parse(request.query);
    const [total, data] = await Promise.all([app.deadLetters.count(), app.deadLetters.list(offset, limit)]);
    return { total, offset, limit, data };
  });

  app.post('/ingest/v1/dead-letters/replay', async (request) => {
    await requireAdmin(app, request);
    return app.deadLetters.replay((records, batchId) => app.spendProducer.enqueue(records, 'replay', batchId));
  });
}

export default fp(ingestRoutes, { name: 'ingest-routes' });
