// LiteLLM's original GET /spend/logs: with start_date/end_date and summarize=true (its default) a per-day
// summary `{startTime, spend, users, models, <api_key>: spend}`; otherwise individual calls. LiteLLM
// returns every matching call; we return the newest 1,000 (use /spend/logs/v2 to page further).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { scopeFor } from '../access.js';
import { runReport } from '../engine.js';
import { findCalls } from '../logs/callLookup.js';
import { listLogs, logsQuerySchema } from '../logs/logRoutes.js';
import { dateOf, keyHashParam, litellmWindow, optionalText, usdFloat } from './params.js';

const DAY_MS = 86_400_000;
const MAX_UNSUMMARIZED = 1000;

const spendLogsQuery = z.object({
  api_key: optionalText,
  user_id: optionalText,
  request_id: optionalText,
  start_date: optionalText,
  end_date: optionalText,
  summarize: z
    .enum(['true', 'false', 'True', 'False', '1', '0'])
    .default('true')
    .transform((v) => v.toLowerCase() === 'true' || v === '1'),
});

async function spendLogs(app: FastifyInstance, request: FastifyRequest) {
  const principal = await app.authenticate(request);
  const scope = scopeFor(principal);
  const q = spendLogsQuery.parse(request.query ?? {});
  const dated = q.start_date !== undefined && q.end_date !== undefined;
  // By Spendhouse's request_id or the provider's response_id (chatcmpl-…, msg_…, resp_…): every such call
  // the caller may see, none found → [].
  if (q.request_id && !dated) return findCalls(app.warehouse, q.request_id, scope);
  const filters = {
    ...(q.api_key ? { key: { in: [keyHashParam(q.api_key)] } } : {}),
    ...(q.user_id ? { user: { in: [q.user_id] } } : {}),
  };
  if (!dated || !q.summarize) {
    const logs = await listLogs(
      app.warehouse,
      logsQuerySchema.parse({
        start_date: q.start_date ?? '1970-01-01',
        end_date: q.end_date ?? 'now',
        page_size: String(MAX_UNSUMMARIZED),
        ...(q.api_key ? { api_key: q.api_key } : {}),
        ...(q.user_id ? { user_id: q.user_id } : {}),
        ...(q.request_id ? { request_id: q.request_id } : {}),
      }),
      scope,
    );
    return logs.data;
  }
  const window = litellmWindow(q.start_date, q.end_date);
  const result = await runReport(
    app.warehouse,
    {
      from: new Date(window.fromMs).toISOString(),
      to: new Date(window.toMs).toISOString(),
      granularity: 'day',
      group_by: ['key', 'user', 'model'],
      metrics: ['cost'],
      filters,
    },
    scope,
  );
  type DaySummary = {
    startTime: string;
    spend: number;
    spend_nano: number;
    users: Record<string, number>;
    models: Record<string, number>;
  } & Record<string, unknown>;
  const days = new Map<string, DaySummary>();
  for (let ms = window.fromMs; ms < window.toMs; ms += DAY_MS) {
    const day = new Date(ms).toISOString().slice(0, 10);
    days.set(day, { startTime: day, spend: 0, spend_nano: 0, users: {}, models: {} });
  }
  for (const row of result.rows) {
    const day = days.get(dateOf(row.bucket ?? ''));
    if (!day) continue;
    const nano = Number(row.cost_nano ?? 0);
    day.spend_nano += nano;
    const add = (bag: Record<string, unknown>, name: string) => {
      bag[name] = Number(bag[name] ?? 0) + usdFloat(nano);
    };
    add(day, row.key ?? '');
    add(day.users, row.user ?? '');
    add(day.models, row.model ?? '');
  }
  return [...days.values()].map((d) => ({ ...d, spend: usdFloat(d.spend_nano) }));
}

export async function litellmSpendLogsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/spend/logs', (request) => spendLogs(app, request));
}
