// The query API as one fastify plugin: /spend/query, the LiteLLM-compatible read endpoints and the logs.
import type { FastifyInstance } from 'fastify';
import { spendQueryRoutes } from './routes.js';

export default async function queryPlugin(app: FastifyInstance): Promise<void> {
  await app.register(spendQueryRoutes);
}
