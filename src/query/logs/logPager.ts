// Paging through calls newest-first (or oldest-first) that stays fast deep into the list. The raw table is
// sorted by time, but ClickHouse 18.16 cannot stop a sorted read early, so a page at offset 50,000 of a
// 30-day window would sort the whole window. Instead exact per-hour call counts for the same filters
// (logCounts.ts: hourly rollup, raw for partial edge hours), walked from the window's edge or the cursor,
// tell which hours hold the wanted rows, and only those hours are read from raw. If counts and rows ever
// disagree (a rollup missing or behind), the page is read from the whole window: slower, still exact.
import { z } from 'zod';
import { joinSql, type Sql, sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { badRequest } from '../../errors.js';
import { type AccessScope, type SelectSpec, whereClause } from '../build.js';
import { catalogSql, type Dimension, RAW, type SourceCatalog } from '../catalog.js';
import type { DimensionFilter, TagFilter } from '../request.js';
import type { Window } from '../time.js';
import { countCalls, type HourCount, hourRollupFor, walkHours } from './logCounts.js';
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
    // r goes into SQL: a lone surrogate in it would be refused there, naming no field.
    if (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0 && typeof r === 'string' && r.isWellFormed())
      return { ms: t, id: r };
  } catch {
    // the 400 below
  }
  throw badRequest('cursor', 'not a cursor returned by this API');
}

interface Slice {
  window: Window;
  skip: number;
}

/** The narrowest sub-window holding rows [skip, skip + size) of the walk, from exact per-hour counts. */
function sliceForOffset(walk: HourCount[], skip: number, size: number): Slice | null {
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

/** The rows after the cursor: its own hour up to it, then walked hours until they hold a full page. */
function windowAfterCursor(walk: HourCount[], req: LogsRequest, at: Position): Window {
  let sum = 0;
  let edge = req.order === 'desc' ? req.window.fromMs : req.window.toMs;
  for (const h of walk) {
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

const pageKeyRow = z.object({ start_time_ms: z.coerce.number(), request_id: z.string() });

/**
 * Rows [skip, skip + pageSize) of `window` in page order. The raw table is sorted by hour, team and key, so a
 * page is sorted out of its whole hour(s): past the first page that sort keeps `skip` rows, so it runs on the
 * two narrow sort columns, and only the page's calls are then read whole (measured at 100M calls: page
 * 1,000 took 177 ms of ClickHouse CPU read whole, 26 + 35 ms this way; page 1 costs the same either way).
 */
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
    // Calls only, as the counts are (re-pricing corrections are no calls: clickhouse/063_correction_counts.sql).
    extraWhere: [...req.rawOnly, sql`source != 'correction'`, ...extra],
  };
  const where = whereClause(spec);
  const dir = catalogSql(req.order === 'desc' ? 'DESC' : 'ASC');
  const order = sql`ORDER BY start_time_ms ${dir}, request_id ${dir}`;
  if (skip === 0) {
    return warehouse.rows(
      sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs WHERE ${where} ${order} LIMIT ${req.pageSize}`,
      logRowSchema,
    );
  }
  const keys = await warehouse.rows(
    sql`SELECT start_time_ms, request_id FROM spend_logs WHERE ${where} ${order} LIMIT ${skip}, ${req.pageSize}`,
    pageKeyRow,
  );
  if (!keys.length) return [];
  const times = keys.map((k) => k.start_time_ms);
  return warehouse.rows(
    sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs PREWHERE request_id IN (${joinSql(keys.map((k) => k.request_id))})
      WHERE ${where} AND start_time_ms >= ${Math.min(...times)} AND start_time_ms <= ${Math.max(...times)}
      ${order} LIMIT ${req.pageSize}`,
    logRowSchema,
  );
}

export async function pageLogs(
  warehouse: Warehouse,
  req: LogsRequest,
  installed: readonly SourceCatalog[],
): Promise<LogsPage> {
  const cursor = req.cursor ? decodeCursor(req.cursor) : null;
  // Raw-only filters cannot be counted on a rollup: then counts and rows both come from raw.
  const what = { filters: req.filters, tags: req.tags, scope: req.scope, rawOnly: req.rawOnly };
  const hourly = hourRollupFor(what, installed);
  const skip = cursor ? 0 : (req.page - 1) * req.pageSize;
  const cursorHour = cursor ? Math.floor(cursor.ms / HOUR_MS) * HOUR_MS : 0;
  const edge = cursor
    ? req.order === 'desc'
      ? cursorHour
      : cursorHour + HOUR_MS
    : req.order === 'desc'
      ? req.window.toMs
      : req.window.fromMs;
  // The total and the hour walk are independent: ask for both at once.
  const [total, walk] = await Promise.all([
    countCalls(warehouse, what, req.window, installed),
    hourly ? walkHours(warehouse, what, hourly, req.window, edge, req.order, skip + req.pageSize) : null,
  ]);
  const keyset = cursor ? [keysetWhere(cursor, req.order)] : [];
  let rows: LogRow[];
  let plan: LogsPage['plan'] = walk ? 'rollup_hours' : 'window_scan';
  if (cursor) {
    const narrowed = walk ? windowAfterCursor(walk, req, cursor) : req.window;
    rows = await readRows(warehouse, req, narrowed, 0, keyset);
    const wholeRest = req.order === 'desc' ? narrowed.fromMs <= req.window.fromMs : narrowed.toMs >= req.window.toMs;
    if (rows.length < req.pageSize && !wholeRest) {
      rows = await readRows(warehouse, req, req.window, 0, keyset);
      plan = 'fallback_scan';
    }
  } else {
    const slice = skip >= total ? null : walk ? sliceForOffset(walk, skip, req.pageSize) : { window: req.window, skip };
    rows = slice ? await readRows(warehouse, req, slice.window, slice.skip, []) : [];
    const expected = Math.max(0, Math.min(req.pageSize, total - skip));
    if (rows.length < expected && walk) {
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
  statusCodes: (codes: number[]) => sql`has(${codes}, toUInt32(status))`,
  any: (parts: Sql[]) => sql`(${joinSql(parts, ' OR ')})`,
};
