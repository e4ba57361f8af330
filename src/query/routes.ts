// HTTP face of the query API: POST /spend/query (JSON body) and GET /spend/query (query string), both
// authenticated, both scoped to what the caller may see.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scopeFor } from './access.js';
import { resultToCsv } from './csv.js';
import { runSpendQuery } from './engine.js';
import { queryStringToRequest, spendQuerySchema } from './request.js';

async function answer(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, input: unknown) {
  const principal = await app.authenticate(request);
  const query = spendQuerySchema.parse(input ?? {});
  const result = await runSpendQuery(app.warehouse, query, scopeFor(principal));
  if (query.format === 'csv') {
    return reply.type('text/csv; charset=utf-8').header('x-spendhouse-source', result.source).send(resultToCsv(result));
  }
  return result;
}

export async function spendQueryRoutes(app: FastifyInstance): Promise<void> {
  app.post('/spend/query', (request, reply) => answer(app, request, reply, request.body));
  app.get('/spend/query', (request, reply) =>
    answer(app, request, reply, queryStringToRequest(request.query as Record<string, string | string[]>)),
  );
}
