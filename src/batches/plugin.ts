// The Batch API's worker side (roles `worker` and `all`): the poller, run every
// general_settings.batch_poll_interval_seconds (default 60). Its records go through the spend queue like
// the ingest API's; its budget charges through the budgets plugin's charger, or — in a worker-only process,
// which has no budgets plugin — through one built here over the same ledger and control plane.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type BudgetCharger, budgetCharger } from '../budgets/charge.js';
import { BudgetLedger } from '../budgets/ledger.js';
import { CounterRebuilder } from '../budgets/rebuild.js';
import type { AppConfig } from '../config/load.js';
import { ControlCache } from '../management/cache.js';
import { ControlStore } from '../management/store.js';
import { type BatchAccounts, BatchPoller } from './poller.js';
import { BatchStore } from './store.js';
import { BatchUpstream } from './upstream.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Batch API poller of this worker (tests run a pass with `pollOnce`). */
    batchPoller: BatchPoller;
  }
}

export interface BatchWorkerOptions {
  config: AppConfig;
  accounts: BatchAccounts;
}

const DEFAULT_BATCH_POLL_SECONDS = 60;

async function ownCharger(app: FastifyInstance, config: AppConfig, ledger: BudgetLedger): Promise<BudgetCharger> {
  const log = app.log.child({ component: 'batches' });
  const cache = new ControlCache(new ControlStore(app.warehouse), app.redis, (err) =>
    log.warn({ err }, 'control-plane cache: redis unavailable'),
  );
  await cache.start();
  app.addHook('onClose', async () => cache.stop());
  return budgetCharger({
    cache,
    ledger,
    rebuilder: new CounterRebuilder(app.warehouse, ledger),
    timeZone: config.budgetTimezone,
    now: () => new Date(),
    log,
  });
}

async function batchWorkerPlugin(app: FastifyInstance, opts: BatchWorkerOptions): Promise<void> {
  const { config } = opts;
  const ledger = app.hasDecorator('budgetLedger') ? app.budgetLedger : new BudgetLedger(app.redis);
  const charge = app.hasDecorator('budgetCharger') ? app.budgetCharger : await ownCharger(app, config, ledger);
  const upstream = new BatchUpstream();
  const poller = new BatchPoller({
    store: new BatchStore(app.warehouse),
    upstream,
    accounts: opts.accounts,
    redis: app.redis,
    enqueue: async (records, jobId) => {
      await app.spendProducer.enqueue(records, 'ingest', jobId);
    },
    charge,
    ledger,
    log: app.log.child({ component: 'batches' }),
  });
  app.decorate('batchPoller', poller);
  const intervalMs = (config.file.general_settings.batch_poll_interval_seconds ?? DEFAULT_BATCH_POLL_SECONDS) * 1000;
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= poller
      .pollOnce()
      .catch((err: unknown) => app.log.warn({ err }, 'batch poll failed; retried on the next pass'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
    await upstream.close();
  });
}

export default fp(batchWorkerPlugin, { name: 'batch-worker', dependencies: ['ingest', 'redis', 'clickhouse'] });
