// Admin-only reads the dashboard needs and no public API gives: model health (GET /ui/api/models) and
// when each key was last used (GET /ui/api/keys/last-used).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../../auth/plugin.js';
import type { AppConfig } from '../../config/load.js';
import { keysLastUsed, LAST_USED_WINDOW_DAYS } from './keyActivity.js';
import { modelHealth } from './modelHealth.js';

const modelsQuerySchema = z.strictObject({
  window_minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
});

export default async function adminRoutes(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  app.get('/api/models', async (request) => {
    await requireAdmin(app, request);
    const { window_minutes } = modelsQuerySchema.parse(request.query ?? {});
    return { data: await modelHealth(app.warehouse, opts.config.models, window_minutes) };
  });

  app.get('/api/keys/last-used', async (request) => {
    await requireAdmin(app, request);
    return { window_days: LAST_USED_WINDOW_DAYS, data: await keysLastUsed(app.warehouse) };
  });
}
