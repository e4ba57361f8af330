// The management API (LiteLLM-compatible paths, master key required) and the control plane behind it:
// decorates `app.controlPlane`, plugs virtual keys into auth and registers the routes in their own scope
// (where JSON bodies labelled form-urlencoded are accepted, as `curl -d` sends them).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { ControlCache } from './cache.js';
import { ControlPlane } from './control.js';
import { acceptJsonAsForm } from './http.js';
import { virtualKeyResolver } from './keyResolver.js';
import keyRoutes from './keys.js';
import simpleEntityRoutes from './simpleEntities.js';
import { ControlStore } from './store.js';
import teamRoutes from './teams.js';
import userRoutes from './users.js';

declare module 'fastify' {
  interface FastifyInstance {
    controlPlane: ControlPlane;
  }
}

export interface ManagementOptions {
  config: AppConfig;
  /** Injectable clock (key expiry, grace periods, budget periods shown by /…/info). */
  now?: () => Date;
}

async function managementPlugin(app: FastifyInstance, opts: ManagementOptions): Promise<void> {
  const store = new ControlStore(app.warehouse);
  const log = app.log.child({ component: 'control-plane' });
  const cache = new ControlCache(store, app.redis, (err) =>
    log.warn({ err }, 'control-plane cache: redis unavailable'),
  );
  const plane = new ControlPlane(store, cache, app.redis, opts.now ?? (() => new Date()), opts.config.budgetTimezone);
  await cache.start();
  app.addHook('onClose', async () => cache.stop());
  app.decorate('controlPlane', plane);
  app.addKeyResolver(virtualKeyResolver(plane));
  await app.register(async (scope) => {
    acceptJsonAsForm(scope);
    await scope.register(keyRoutes, { plane });
    await scope.register(teamRoutes, { plane });
    await scope.register(userRoutes, { plane });
    await scope.register(simpleEntityRoutes, { plane });
  });
}

export default fp(managementPlugin, { name: 'management', dependencies: ['auth', 'redis', 'clickhouse'] });
