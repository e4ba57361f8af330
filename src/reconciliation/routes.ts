// GET /spend/reconciliation?from&to (admin only): the provider's figure, Spendhouse's and the drift per
// day × provider × model, plus the last import's status per provider. `from` / `to` take what the query API
// takes (2026-12-01, 2026-12-01T00:00:00Z, -7d, now), read in UTC and widened to whole days: the providers'
// reports are UTC days.
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { ModelEntry } from '../config/schema.js';
import { badRequest } from '../errors.js';
import { checkWindowRange, parseTime } from '../query/time.js';
import { dayString, readImportStatus, reconciliationTable } from './service.js';
import type { ReconciliationSettings } from './settings.js';

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;

function param(query: Record<string, unknown>, name: string, fallback: string): string {
  const value = query[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw badRequest(name, 'give it once, as text');
  return value;
}

export function parseDayWindow(query: Record<string, unknown>, nowMs = Date.now()): { fromDay: string; toDay: string } {
  for (const name of Object.keys(query)) {
    if (name !== 'from' && name !== 'to') throw badRequest(name, 'unknown parameter (from and to are known)');
  }
  const fromMs = parseTime(param(query, 'from', '-7d'), 'from', 'UTC', nowMs);
  const toMs = parseTime(param(query, 'to', 'now'), 'to', 'UTC', nowMs);
  checkWindowRange({ fromMs, toMs });
  const from = Math.floor(fromMs / DAY_MS) * DAY_MS;
  const to = Math.ceil(toMs / DAY_MS) * DAY_MS;
  if (to <= from) throw badRequest('to', '`to` must be after `from`');
  if (to - from > MAX_DAYS * DAY_MS) throw badRequest('to', `at most ${MAX_DAYS} days at once`);
  return { fromDay: dayString(from), toDay: dayString(to) };
}

export async function reconciliationRoutes(
  app: FastifyInstance,
  opts: { settings: ReconciliationSettings; models: readonly ModelEntry[] },
): Promise<void> {
  const { settings, models } = opts;
  app.get('/spend/reconciliation', async (request) => {
    await requireAdmin(app, request);
    const { fromDay, toDay } = parseDayWindow(request.query as Record<string, unknown>);
    const rows = await reconciliationTable({ warehouse: app.warehouse, settings, models }, fromDay, toDay);
    return {
      from: fromDay,
      to: toDay,
      providers: settings.sources.map((s) => s.provider),
      imports: await readImportStatus(app.redis),
      rows,
    };
  });
}
