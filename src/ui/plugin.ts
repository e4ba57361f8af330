// The dashboard: the built Preact bundle at /ui (any deeper /ui path falls back to index.html so the
// client-side router can own it), its login/session API under /ui/api, and `/` → /ui. The bundle is built
// by `npm run build` (scripts/build-ui.mjs) into dist/ui; `spendhouse start` builds it when missing.
// Every /ui response carries the security headers of ./server/securityHeaders.ts; HTML is revalidated on each
// visit while the hashed assets are cached for a year.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { redactUrl } from '../http/logRedaction.js';
import adminRoutes from './server/adminRoutes.js';
import loginRoutes from './server/loginRoutes.js';
import namesRoutes from './server/names.js';
import { HTML_CACHE_CONTROL, isHtmlFile, setDashboardSecurityHeaders } from './server/securityHeaders.js';

export const DEFAULT_UI_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'ui');

export interface UiPluginOptions {
  config: AppConfig;
  /** Folder holding the built bundle (index.html + hashed assets); default dist/ui. */
  root?: string;
}

async function dashboard(app: FastifyInstance, opts: UiPluginOptions): Promise<void> {
  const root = opts.root ?? DEFAULT_UI_ROOT;
  app.addHook('onRequest', async (_request, reply) => {
    // Not returned: an async hook that returns the reply tells fastify the response was already sent.
    setDashboardSecurityHeaders(reply);
  });
  await app.register(fastifyCookie);
  await app.register(loginRoutes, { config: opts.config });
  await app.register(adminRoutes, { config: opts.config });
  await app.register(namesRoutes, { config: opts.config });
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: false,
    wildcard: true,
    preCompressed: true,
    // Asset names carry a content hash, so they never change; index.html is looked up on every visit. The path
    // is the file actually sent: index.html.br / .gz when the browser accepts them (preCompressed).
    setHeaders(reply, path) {
      reply.header('cache-control', isHtmlFile(path) ? HTML_CACHE_CONTROL : 'public, max-age=31536000, immutable');
    },
  });

  const sendIndex = async (reply: FastifyReply) => {
    if (!existsSync(join(root, 'index.html'))) {
      throw new AppError('service_unavailable', 'the dashboard is not built: run `npm run build`');
    }
    reply.header('cache-control', HTML_CACHE_CONTROL);
    return reply.sendFile('index.html');
  };
  app.get('/', async (_request, reply) => sendIndex(reply));
  app.setNotFoundHandler(async (request, reply) => {
    // Unknown API paths stay JSON 404s; any other /ui path is a client-side route.
    if (request.method !== 'GET' || request.url.startsWith('/ui/api/') || /\.[a-z0-9]+$/i.test(request.url)) {
      throw new AppError('not_found', `no route ${request.method} ${redactUrl(request.url.split('?')[0] ?? '')}`);
    }
    return sendIndex(reply);
  });
}

export default async function uiPlugin(app: FastifyInstance, opts: UiPluginOptions): Promise<void> {
  app.get('/', async (_request, reply) => setDashboardSecurityHeaders(reply).redirect('/ui'));
  await app.register(dashboard, { ...opts, prefix: '/ui' });
}
