// Paging through calls newest-first (or oldest-first) that stays fast deep into the list. The raw table is
// sorted by time, but ClickHouse 18.16 cannot stop a sorted read early, so a page at offset 50,000 of a
// 30-day window would sort the whole window. Instead the hourly rollup (exact per-hour call counts for the
// same filters) tells which hours hold the wanted rows, and only those hours are read from raw. Partial
// hours at the window's edges are counted on raw (they are small). If the counts and the rows ever
// disagree (a rollup not installed, or lagging), the page is read from the whole window: slower, still exact.
import { z } from 'zod';
import { joinSql, type Sql, sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { badRequest } from '../../errors.js';
import { type AccessScope, buildSelect, type SelectSpec, whereClause } from '../build.js';
import { catalogSql, type Dimension, RAW, type SourceCatalog } from '../catalog.js';
import type { DimensionFilter, TagFilter } from '../request.js';
import type { Window } from '../time.js';
import { LOG_COLUMNS, type LogRow, logRowSchema } from './logRows.js';

const HOUR_MS = 3_600_000;

export interface LogsRequest {
  window: Window;
  filters: Partial<Record<Dimension, DimensionFilter>>;
  tags: TagFilter;
  /** Conditions on raw-only columns (key alias, request id, exact status); they rule out rollup counts. */
  rawOnly: Sql[];
  scope: AccessScope;
  pageSize: number;
  order: 'asc' | 'desc';
  /** 1-based page (LiteLLM's paging) … */
  page: number;
  /** … or a keyset cursor from a previous page, which wins when given. */
  cursor?: string;
}

export interface LogsPage {
  rows: LogRow[];
  total: number;
  nextCursor: string | null;
  /** How the page was found: hours located by rollup counts, a scan of the window, or a fallback scan. */
  plan: 'rollup_hours' | 'window_scan' | 'fallback_scan';
}

interface Position {
  ms: number;
  id: string;
}
const encodeCursor = (p: Position) => Buffer.from(JSON.stringify({ t: p.ms, r: p.id })).toString('base64url');
function decodeCursor(text: string): Position {
  try {
    const { t, r } = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { t?: unknown; r?: unknown };
    if (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0 && typeof r === 'string') return { ms: t, id: r };
  } catch {
    // the 400 below
  }
  throw badRequest('cursor', 'not a cursor returned by this API');
}

interface HourCount {
  fromMs: number;
  toMs: number;
  count: number;
}
const countSchema = z.object({ bucket: z.coerce.number().optional(), m_requests: z.coerce.number() });

/** Exact call counts per hour of the window (rollup for whole hours, raw for the partial edges). */
async function hourCounts(warehouse: Warehouse, req: LogsRequest, rollup: SourceCatalog): Promise<HourCount[]> {
  const { fromMs, toMs } = req.window;
  const innerFrom = Math.ceil(fromMs / HOUR_MS) * HOUR_MS;
  const innerTo = Math.floor(toMs / HOUR_MS) * HOUR_MS;
  const spec = (source: SourceCatalog, window: Window, granularity: 'hour' | 'none'): SelectSpec => ({
    source,
    window,
    timezone: 'UTC',
    granularity,
    groupBy: [],
    filters: req.filters,
    tags: req.tags,
    metrics: ['requests'],
    scope: req.scope,
  });
  const edges: Window[] =
    innerFrom < innerTo
      ? [
          { fromMs, toMs: innerFrom },
          { fromMs: innerTo, toMs },
        ].filter((w) => w.toMs > w.fromMs)
      : [{ fromMs, toMs }];
  const [inner, ...edgeRows] = await Promise.all([
    innerFrom < innerTo
      ? warehouse.rows(buildSelect(spec(rollup, { fromMs: innerFrom, toMs: innerTo }, 'hour')), countSchema)
      : Promise.resolve([]),
    ...edges.map((w) => warehouse.rows(buildSelect(spec(RAW, w, 'none')), countSchema)),
  ]);
  const hours: HourCount[] = inner.map((r) => ({
    fromMs: (r.bucket ?? 0) * 1000,
    toMs: (r.bucket ?? 0) * 1000 + HOUR_MS,
    count: r.m_requests,
  }));
  edges.forEach((w, i) => {
    hours.push({ ...w, count: edgeRows[i]?.[0]?.m_requests ?? 0 });
  });
  return hours.filter((h) => h.count > 0).sort((a, b) => a.fromMs - b.fromMs);
}

interface Slice {
  window: Window;
  skip: number;
}

/** The narrowest sub-window holding rows [skip, skip + size) of the walk, from exact per-hour counts. */
function sliceForOffset(hours: HourCount[], order: 'asc' | 'desc', skip: number, size: number): Slice | null {
  const walk = order === 'desc' ? [...hours].reverse() : hours;
  let before = 0;
  let first = -1;
  for (let i = 0; i < walk.length; i++) {
    const count = walk[i]?.count ?? 0;
    if (first < 0 && before + count > skip) first = i;
    if (first < 0) before += count;
    else if (before + walk.slice(first, i + 1).reduce((s, h) => s + h.count, 0) >= skip + size) {
      return spanOf(walk, first, i, skip - before);
    }
  }
  return first < 0 ? null : spanOf(walk, first, walk.length - 1, skip - before);
}

function spanOf(walk: HourCount[], a: number, b: number, skip: number): Slice {
  const edges = [walk[a], walk[b]].filter((h): h is HourCount => h !== undefined);
  return {
    window: { fromMs: Math.min(...edges.map((h) => h.fromMs)), toMs: Math.max(...edges.map((h) => h.toMs)) },
    skip,
  };
}

/** Hours strictly past the cursor's hour, taken until they hold a full page; the cursor's own hour is added. */
function sliceForCursor(hours: HourCount[], req: LogsRequest, at: Position): Window {
  const cursorHour = Math.floor(at.ms / HOUR_MS) * HOUR_MS;
  const beyond =
    req.order === 'desc'
      ? hours.filter((h) => h.toMs <= cursorHour).reverse()
      : hours.filter((h) => h.fromMs >= cursorHour + HOUR_MS);
  let sum = 0;
  let edge = req.order === 'desc' ? req.window.fromMs : req.window.toMs;
  for (const h of beyond) {
    sum += h.count;
    if (sum >= req.pageSize) {
      edge = req.order === 'desc' ? h.fromMs : h.toMs;
      break;
    }
  }
  return req.order === 'desc'
    ? { fromMs: Math.max(edge, req.window.fromMs), toMs: Math.min(at.ms + 1, req.window.toMs) }
    : { fromMs: Math.max(at.ms, req.window.fromMs), toMs: Math.min(edge, req.window.toMs) };
}

function keysetWhere(at: Position, order: 'asc' | 'desc'): Sql {
  return order === 'desc'
    ? sql`(start_time_ms < ${at.ms} OR (start_time_ms = ${at.ms} AND request_id < ${at.id}))`
    : sql`(start_time_ms > ${at.ms} OR (start_time_ms = ${at.ms} AND request_id > ${at.id}))`;
}

async function readRows(warehouse: Warehouse, req: LogsRequest, window: Window, skip: number, extra: Sql[]) {
  const spec: SelectSpec = {
    source: RAW,
    window,
    timezone: 'UTC',
    granularity: 'none',
    groupBy: [],
    filters: req.filters,
    tags: req.tags,
    metrics: [],
    scope: req.scope,
    extraWhere: [...req.rawOnly, ...extra],
  };
  const dir = catalogSql(req.order === 'desc' ? 'DESC' : 'ASC');
  return warehouse.rows(
    sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs WHERE ${whereClause(spec)} ORDER BY start_time_ms ${dir}, request_id ${dir} LIMIT ${skip}, ${req.pageSize}`,
    logRowSchema,
  );
}

async function rawTotal(warehouse: Warehouse, req: LogsRequest): Promise<number> {
  const spec: SelectSpec = {
    source: RAW,
    window: req.window,
    timezone: 'UTC',
    granularity: 'none',
    groupBy: [],
    filters: req.filters,
    tags: req.tags,
    metrics: ['requests'],
    scope: req.scope,
    extraWhere: req.rawOnly,
  };
  const rows = await warehouse.rows(buildSelect(spec), countSchema);
  return rows[0]?.m_requests ?? 0;
}

export async function pageLogs(
  warehouse: Warehouse,
  req: LogsRequest,
  rollup: SourceCatalog | null,
): Promise<LogsPage> {
  const cursor = req.cursor ? decodeCursor(req.cursor) : null;
  const hours = rollup && req.rawOnly.length === 0 ? await hourCounts(warehouse, req, rollup) : null;
  const total = hours ? hours.reduce((s, h) => s + h.count, 0) : await rawTotal(warehouse, req);
  const keyset = cursor ? [keysetWhere(cursor, req.order)] : [];
  let rows: LogRow[];
  let plan: LogsPage['plan'] = hours ? 'rollup_hours' : 'window_scan';
  if (cursor) {
    const narrowed = hours ? sliceForCursor(hours, req, cursor) : req.window;
    rows = await readRows(warehouse, req, narrowed, 0, keyset);
    const wholeRest = req.order === 'desc' ? narrowed.fromMs <= req.window.fromMs : narrowed.toMs >= req.window.toMs;
    if (rows.length < req.pageSize && !wholeRest) {
      rows = await readRows(warehouse, req, req.window, 0, keyset);
      plan = 'fallback_scan';
    }
  } else {
    const skip = (req.page - 1) * req.pageSize;
    const slice = hours ? sliceForOffset(hours, req.order, skip, req.pageSize) : { window: req.window, skip };
    rows = slice ? await readRows(warehouse, req, slice.window, slice.skip, []) : [];
    const expected = Math.max(0, Math.min(req.pageSize, total - skip));
    if (rows.length < expected && hours) {
      rows = await readRows(warehouse, req, req.window, skip, []);
      plan = 'fallback_scan';
    }
  }
  const last = rows.at(-1);
  const more = rows.length === req.pageSize && (cursor !== null || (req.page - 1) * req.pageSize + rows.length < total);
  return {
    rows,
    total,
    nextCursor: more && last ? encodeCursor({ ms: last.start_time_ms, id: last.request_id }) : null,
    plan,
  };
}

/** Exact-status and free-text conditions the rollup cannot count (joined by the caller as needed). */
export const rawCondition = {
  keyAlias: (alias: string) => sql`key_alias = ${alias}`,
  requestId: (id: string) => sql`request_id = ${id}`,
  statusCodes: (codes: number[]) => sql`has(${codes}, toUInt32(status))`,
  any: (parts: Sql[]) => sql`(${joinSql(parts, ' OR ')})`,
};
