// The OpenAI Files and Batches API on the proxy (docs/batches.md), registered by the proxy plugin in its own
// context: every request is authenticated before its body is read, and multipart bodies (file uploads) are
// read whole up to MAX_BATCH_FILE_BYTES, then parsed by undici's FormData reader.
import type { FastifyInstance } from 'fastify';
import { BatchStore } from '../../batches/store.js';
import { BatchUpstream } from '../../batches/upstream.js';
import { CounterRebuilder } from '../../budgets/rebuild.js';
import type { AppConfig } from '../../config/load.js';
import type { ModelRouter } from '../deployments.js';
import { batchAccounts } from './accounts.js';
import { registerBatchRoutes } from './batchRoutes.js';
import type { BatchRouteDeps } from './context.js';
import { MAX_BATCH_FILE_BYTES, registerFileRoutes } from './fileRoutes.js';

export async function registerBatchApi(app: FastifyInstance, config: AppConfig, router: ModelRouter): Promise<void> {
  const upstream = new BatchUpstream();
  app.addHook('onClose', async () => upstream.close());
  const budgets =
    app.hasDecorator('budgetLedger') && app.hasDecorator('controlPlane')
      ? {
          cache: app.controlPlane.cache,
          ledger: app.budgetLedger,
          rebuilder: new CounterRebuilder(app.warehouse, app.budgetLedger),
          timeZone: config.budgetTimezone,
          failMode: config.budgetFailMode,
          log: app.log.child({ component: 'batches' }),
        }
      : null;
  const deps: BatchRouteDeps = {
    store: new BatchStore(app.warehouse),
    upstream,
    router,
    authenticate: (request) => app.authenticate(request),
    budgets,
  };
  const accounts = batchAccounts(config);
  await app.register(async (routes) => {
    routes.addContentTypeParser(
      'multipart/form-data',
      { parseAs: 'buffer', bodyLimit: MAX_BATCH_FILE_BYTES },
      (_request, body, done) => done(null, body),
    );
    routes.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });
    // With and without the /v1 prefix, like every proxy route (LiteLLM accepts both).
    for (const prefix of ['', '/v1']) {
      await routes.register(
        async (scoped) => {
          registerFileRoutes(scoped, deps, accounts.account);
          registerBatchRoutes(scoped, deps, accounts.account);
        },
        { prefix },
      );
    }
  });
}
