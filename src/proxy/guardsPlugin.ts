// `app.callGuards`: the registry of what runs around every proxied call (src/proxy/callGuards.ts). Plugins
// that add guards (budgets, guardrails, metrics) and the proxy that runs them declare this plugin as a
// dependency, so registration order is checked at boot instead of each creating the list "if absent".
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CallGuards } from '../callGuards.js';

declare module 'fastify' {
  interface FastifyInstance {
    callGuards: CallGuards;
  }
}

async function callGuardsPlugin(app: FastifyInstance): Promise<void> {
  app.decorate('callGuards', new CallGuards());
}

export default fp(callGuardsPlugin, { name: 'call-guards' });
