// The whole application as one fastify plugin. The server entry (server.ts) only reads config, listens and
// closes with grace; tests build it with `buildApp` and use `app.inject` or a real port.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import alertsPlugin from './alerts/plugin.js';
import anomaliesPlugin from './anomalies/plugin.js';
import archivePlugin from './archive/plugin.js';
import authPlugin from './auth/plugin.js';
import batchWorkerPlugin from './batches/plugin.js';
import budgetsPlugin from './budgets/plugin.js';
import budgetWatchPlugin from './budgetWatch/plugin.js';
import { MIGRATION_BOOT_MS, migrate } from './clickhouse/migrate.js';
import clickhousePlugin from './clickhouse/plugin.js';
import type { AppConfig } from './config/load.js';
import guardrailsPlugin from './guardrails/plugin.js';
import { registerErrorHandler } from './http/errorHandler.js';
import healthRoutes from './http/health.js';
import { registerJsonBodyParser } from './http/jsonBody.js';
import { withLogRedaction } from './http/logRedaction.js';
import ingestPlugin, { type IngestWorkerOverrides } from './ingest/plugin.js';
import managementPlugin from './management/plugin.js';
import metricsPlugin from './metrics/plugin.js';
import { batchAccounts } from './proxy/batches/accounts.js';
import callGuardsPlugin from './proxy/guardsPlugin.js';
import proxyPlugin from './proxy/plugin.js';
import queryPlugin from './query/plugin.js';
import reconciliationPlugin from './reconciliation/plugin.js';
import redisPlugin from './redis/plugin.js';
import type { SpendSink } from './spendSink.js';
import uiPlugin from './ui/plugin.js';

export interface AppOptions {
  config: AppConfig;
  /** Apply ClickHouse migrations during boot (default true; `npm run migrate` does it on its own). */
  migrate?: boolean;
  /** Where the proxy hands SpendRecords; default the BullMQ producer (tests may pass a MemorySink). */
  sink?: SpendSink;
  /** Run the ingest worker in this process (tests: with overrides); default by role (`worker`, `all`). */
  ingestWorker?: boolean | IngestWorkerOverrides;
  /** Injectable clock for the control plane (key expiry, grace periods); tests move it. */
  now?: () => Date;
}

async function spendhousePlugin(app: FastifyInstance, opts: AppOptions): Promise<void> {
  const { config } = opts;
  registerErrorHandler(app);
  // Every JSON body is depth-checked before JSON.parse (docs/security.md); scoped parsers keep their own.
  registerJsonBodyParser(app);
  await app.register(clickhousePlugin, { config });
  await app.register(redisPlugin, { config });
  if (opts.migrate !== false) {
    const result = await migrate(app.warehouse, app.redis);
    if (result.applied.length) app.log.info({ applied: result.applied }, 'clickhouse migrations applied');
  }
  await app.register(healthRoutes, { role: config.role });
  // Alert webhooks (docs/operations.md): budgets send through it, so it comes first.
  await app.register(alertsPlugin, { config });
  await app.register(authPlugin, { config });
  // What runs around every proxied call: budgets, guardrails and metrics register here, the proxy runs it.
  await app.register(callGuardsPlugin);
  // Management API + control plane (virtual keys for auth), and the budget/rate-limit guard for the proxy.
  if (config.role !== 'worker') {
    await app.register(managementPlugin, { config, now: opts.now });
    await app.register(budgetsPlugin, { config });
    // Every budget's spend and forecast on a timer: the /metrics gauges and the threshold/forecast alerts.
    await app.register(budgetWatchPlugin, { config });
    // PII guardrails and tag policies, as call guards (tag policies run ahead of budgets).
    await app.register(guardrailsPlugin, { config });
  }
  // Spend ingest: producer (app.spendSink), worker + retention by role, ingest API and dead letters.
  await app.register(ingestPlugin, { config, sink: opts.sink, worker: opts.ingestWorker });
  // The LLM proxy (/v1/chat/completions, /v1/messages, …): prices, attributes and records every call.
  if (config.role !== 'worker') await app.register(proxyPlugin, { config });
  // The dashboard (/ui) and its session cookie, which authenticates the API calls it makes.
  if (config.role !== 'worker') await app.register(uiPlugin, { config });
  // Spend reads (query API, LiteLLM-compatible reports, logs) are served by every HTTP-facing role.
  if (config.role !== 'worker') await app.register(queryPlugin);
  // The providers' bills beside Spendhouse's figures: /spend/reconciliation, and the importer on workers.
  await app.register(reconciliationPlugin, { config });
  // Spend anomalies against each series' own baseline: /spend/anomalies, and their alerts on workers.
  await app.register(anomaliesPlugin, { config });
  // Batch API batches polled until they end, then one record per result line (docs/batches.md): a worker's job.
  if (config.role !== 'proxy') await app.register(batchWorkerPlugin, { config, accounts: batchAccounts(config) });
  // Closed windows to S3 / the local folder as Parquet + JSONL (docs/archive.md): a worker's job.
  if (config.role !== 'proxy' && config.archive.enabled) await app.register(archivePlugin, { config });
  // GET /metrics (Prometheus): registered last, it collects every plugin's metrics.
  await app.register(metricsPlugin, { config });
}

/** Decorators (warehouse, redis, authenticate, …) stay visible on the instance that registers it. */
export const spendhouse = fp(spendhousePlugin, { name: 'spendhouse' });

/** fastify's types omit the hop-count form its runtime has: a count n trusts the n nearest hops. */
function trustedHops(
  setting: AppConfig['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

export async function buildApp(
  opts: AppOptions & { logger?: FastifyServerOptions['logger'] },
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withLogRedaction(opts.logger ?? false),
    bodyLimit: opts.config.bodyLimitBytes,
    // Behind a reverse proxy, request.ip / request.protocol come from the hops the operator trusts (login
    // throttling per client address, the Secure session cookie); never from headers any client can send.
    trustProxy: trustedHops(opts.config.trustProxy),
    // Callers may send their own x-request-id; ours are UUIDv7 made per call by the proxy.
    requestIdHeader: false,
    // Boot runs migrations: it may wait for another instance's migration lock, ON CLUSTER migrations wait for
    // every node (docs/scaling.md), and a new rollup's backfill reads every stored call (minutes at 100M).
    // A boot cut short mid-backfill would only start the same backfill again.
    pluginTimeout: MIGRATION_BOOT_MS,
  });
  await app.register(spendhouse, opts);
  await app.ready();
  return app;
}
