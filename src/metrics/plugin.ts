// GET /metrics in Prometheus text format, one prom-client Registry per app instance (tests build several
// apps in one process; the global default registry would mix them). Enabled by `metrics.enabled` or
// LiteLLM's `litellm_settings.callbacks: ["prometheus"]`; readable with the master key (or an admin key)
// or the configured `metrics.token`. Metric names are listed in docs/operations.md.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import { requireAdmin } from '../auth/plugin.js';
import { extractKey } from '../auth/principal.js';
import type { AppConfig } from '../config/load.js';
import { createBudgetGauges } from './budgetGauges.js';
import { createCallMetrics } from './callMetrics.js';
import { clusterLink, localScrape } from './clusterMetrics.js';
import { dependencyHealthGauge, type HealthProbe, ingestLagGauge } from './systemMetrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}

export const DEFAULT_BUDGET_REFRESH_SECONDS = 60;

export function metricsEnabled(config: AppConfig): boolean {
  const { metrics, litellm_settings: litellm } = config.file;
  if (metrics.enabled !== undefined) return metrics.enabled;
  return [...(litellm.callbacks ?? []), ...(litellm.success_callback ?? [])].includes('prometheus');
}

const digest = (value: string) => createHash('sha256').update(value).digest();

async function authorizeScrape(app: FastifyInstance, request: FastifyRequest, token: string | null): Promise<void> {
  const presented = extractKey(request.headers);
  if (token && presented && timingSafeEqual(digest(presented), digest(token))) return;
  await requireAdmin(app, request);
}

async function metricsPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  if (!metricsEnabled(config)) return;
  const settings = config.file.metrics;
  const registry = new Registry();
  app.decorate('metricsRegistry', registry);
  collectDefaultMetrics({ register: registry });
  // Under `serve --workers N`: scrapes merged over the processes by the primary (clusterMetrics.ts).
  const cluster = clusterLink(registry);
  if (cluster) {
    app.addHook('onReady', async () => cluster.announce());
    app.addHook('onClose', async () => cluster.close());
  }
  const register = (metrics: Metric[]) => {
    for (const metric of metrics) registry.registerMetric(metric);
  };

  const calls = createCallMetrics(settings.tag_allow_list ?? []);
  register(calls.metrics);
  app.callGuards.addObserver(calls.observer);
  if (app.hasDecorator('budgetMetrics')) register(Object.values(app.budgetMetrics));
  if (app.hasDecorator('guardrailMetrics')) register(Object.values(app.guardrailMetrics));
  register(app.ingestMetrics);
  register([ingestLagGauge(app.spendProducer)]);
  const probes: Record<string, HealthProbe> = {
    clickhouse: () => app.warehouse.ping(),
    redis: async () => (await app.redis.ping()) === 'PONG',
  };
  if (app.hasDecorator('archive')) {
    register(app.archiveMetrics);
    // A missing object answers null: the store is reachable and the credentials work.
    probes.archive_store = async () => {
      await app.archive.context.store.get('.spendhouse-health-probe');
      return true;
    };
  }
  register([dependencyHealthGauge(probes)]);

  if (app.hasDecorator('budgetWatch')) {
    const budgets = createBudgetGauges(app.budgetWatch);
    register(budgets.metrics);
    const refresh = () =>
      budgets.refresh().catch((err: unknown) => app.log.warn({ err }, 'budget gauges were not refreshed'));
    let timer: NodeJS.Timeout | null = null;
    const every = () => {
      timer = setInterval(refresh, (settings.budget_refresh_seconds ?? DEFAULT_BUDGET_REFRESH_SECONDS) * 1000);
      timer.unref();
    };
    app.addHook('onReady', async () => {
      if (!cluster) {
        await refresh();
        return every();
      }
      // One process of a cluster refreshes (the primary names it, and another if it dies): the budget
      // reads are not multiplied by N, and the merged scrape takes its values (aggregator `first`).
      cluster.onRefreshBudgets(() => {
        if (timer) return;
        void refresh();
        every();
      });
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
    });
  }

  app.get('/metrics', async (request, reply) => {
    await authorizeScrape(app, request, settings.token ?? null);
    const scrape = await (cluster ? cluster.scrape() : localScrape(registry));
    return reply
      .type(registry.contentType)
      .header('x-spendhouse-metrics-scope', scrape.scope)
      .header('x-spendhouse-metrics-processes', scrape.processes)
      .send(scrape.text);
  });
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['ingest', 'auth', 'call-guards'] });
