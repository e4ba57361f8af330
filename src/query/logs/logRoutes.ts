// The call logs: GET /spend/logs/v2 (LiteLLM's paginated logs, also the dashboard's Logs tab; alias
// /spend/logs/ui), one call's detail (GET /spend/logs/v2/{request_id}, alias /spend/logs/ui/{request_id})
// with its prompt/response when stored.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Sql, sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { AppError } from '../../errors.js';
import { nanoToUsd } from '../../spendRecord.js';
import { scopeFor } from '../access.js';
import type { AccessScope } from '../build.js';
import type { Dimension } from '../catalog.js';
import { csvList, keyHashParam, litellmWindow, optionalText } from '../litellm/params.js';
import type { DimensionFilter } from '../request.js';
import { availableRollups } from '../rollup.js';
import { correctionsOf, findCalls, locateCalls, locatedCondition } from './callLookup.js';
import { pageLogs, rawCondition } from './logPager.js';
import { toLogEntry } from './logRows.js';

const STATUS_CLASS = /^[1-5]xx$/;

export const logsQuerySchema = z.strictObject({
  start_date: optionalText,
  end_date: optionalText,
  api_key: optionalText,
  key_alias: optionalText,
  user_id: optionalText,
  team_id: optionalText,
  end_user: optionalText,
  customer_id: optionalText,
  model: optionalText,
  request_id: optionalText,
  tags: csvList,
  /** LiteLLM: success | failure. */
  status_filter: z.enum(['success', 'failure']).optional(),
  /** Spendhouse: status classes (2xx,4xx) and/or exact codes (429), comma separated. */
  status: csvList,
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(600).optional(),
  sort_order: z.enum(['asc', 'desc']).default('desc'),
  sort_by: z.enum(['startTime']).optional(),
});
export type LogsQuery = z.infer<typeof logsQuerySchema>;

function statusConditions(query: LogsQuery): { classes: string[] | null; raw: Sql[] } {
  let classes: string[] | null = null;
  if (query.status_filter === 'success') classes = ['1xx', '2xx', '3xx'];
  if (query.status_filter === 'failure') classes = ['4xx', '5xx'];
  const raw: Sql[] = [];
  if (query.status?.length) {
    const wantedClasses = query.status.filter((s) => STATUS_CLASS.test(s));
    const codes = query.status.filter((s) => /^\d{3}$/.test(s)).map(Number);
    if (wantedClasses.length + codes.length !== query.status.length) {
      throw new AppError('bad_request', 'status: expected classes like 2xx or codes like 429', { param: 'status' });
    }
    if (codes.length) {
      // Exact codes are only in raw; classes named alongside them are matched there too.
      const classCodes = wantedClasses.map((c) => sql`intDiv(status, 100) = ${Number(c[0])}`);
      raw.push(rawCondition.any([rawCondition.statusCodes(codes), ...classCodes]));
    } else classes = classes ? classes.filter((c) => wantedClasses.includes(c)) : wantedClasses;
  }
  return { classes, raw };
}

export async function listLogs(warehouse: Warehouse, query: LogsQuery, scope: AccessScope) {
  const window = litellmWindow(query.start_date, query.end_date, { from: '-24h', to: 'now' });
  const filters: Partial<Record<Dimension, DimensionFilter>> = {};
  if (query.api_key) filters.key = { in: [keyHashParam(query.api_key)] };
  if (query.user_id) filters.user = { in: [query.user_id] };
  if (query.team_id) filters.team = { in: [query.team_id] };
  const customer = query.end_user ?? query.customer_id;
  if (customer) filters.customer = { in: [customer] };
  if (query.model) filters.model = { in: [query.model] };
  if (query.tags?.length) filters.tag = { in: query.tags };
  const status = statusConditions(query);
  if (status.classes) filters.status = { in: status.classes };
  const rawOnly = [...status.raw];
  if (query.key_alias) rawOnly.push(rawCondition.keyAlias(query.key_alias));
  // Spendhouse's id or the provider's: located through the index tables, then read at those seconds only.
  if (query.request_id) rawOnly.push(locatedCondition(await locateCalls(warehouse, query.request_id)));
  const page = await pageLogs(
    warehouse,
    {
      window,
      filters,
      tags: {},
      rawOnly,
      scope,
      pageSize: query.page_size,
      order: query.sort_order,
      page: query.page,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    },
    await availableRollups(warehouse),
  );
  return {
    data: page.rows.map((row) => toLogEntry(row)),
    total: page.total,
    page: query.page,
    page_size: query.page_size,
    total_pages: Math.ceil(page.total / query.page_size),
    next_cursor: page.nextCursor,
    read_plan: page.plan,
  };
}

/**
 * One call with its prompt/response (when stored), by its request_id or, failing that, its provider's
 * response_id, and the re-pricing corrections written for it (`corrections`, oldest first; [] for a
 * correction itself) with the cost they add up to (`cost_after_corrections_usd`); 404 when absent or outside
 * the caller's scope.
 */
export async function logDetail(warehouse: Warehouse, id: string, scope: AccessScope) {
  const [entry] = await findCalls(warehouse, id, scope);
  if (!entry) throw new AppError('not_found', `no call with request_id ${JSON.stringify(id).slice(0, 140)}`);
  const corrections = await correctionsOf(warehouse, entry, scope);
  const corrected = corrections.reduce((sum, c) => sum + BigInt(c.cost_nano), BigInt(entry.cost_nano));
  return { ...entry, corrections, cost_after_corrections_usd: nanoToUsd(corrected) };
}

/** What GET /spend/logs/v2/{request_id} answers (the dashboard's call detail reads it). */
export type LogDetail = Awaited<ReturnType<typeof logDetail>>;

export async function logRoutes(app: FastifyInstance): Promise<void> {
  const list = async (request: FastifyRequest) => {
    const principal = await app.authenticate(request);
    return listLogs(app.warehouse, logsQuerySchema.parse(request.query ?? {}), scopeFor(principal));
  };
  const detail = async (request: FastifyRequest) => {
    const principal = await app.authenticate(request);
    const { request_id } = z.object({ request_id: z.string().min(1).max(128) }).parse(request.params);
    return logDetail(app.warehouse, request_id, scopeFor(principal));
  };
  for (const path of ['/spend/logs/v2', '/spend/logs/ui']) {
    app.get(path, list);
    app.get(`${path}/:request_id`, detail);
  }
}
