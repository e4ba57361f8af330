// The query API as one fastify plugin: /spend/query, /spend/showback, the LiteLLM-compatible read endpoints and the logs.
import type { FastifyInstance } from 'fastify';
import { litellmActivityRoutes } from './litellm/activity.js';
import { litellmReportRoutes } from './litellm/reports.js';
import { litellmSpendLogsRoutes } from './litellm/spendLogs.js';
import { logRoutes } from './logs/logRoutes.js';
import { spendQueryRoutes } from './routes.js';
import { showbackRoutes } from './showback.js';

export default async function queryPlugin(app: FastifyInstance): Promise<void> {
  await app.register(spendQueryRoutes);
  await app.register(showbackRoutes);
  await app.register(logRoutes);
  await app.register(litellmReportRoutes);
  await app.register(litellmActivityRoutes);
  await app.register(litellmSpendLogsRoutes);
}
