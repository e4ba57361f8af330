// Finding calls by an id: Spendhouse's request_id or the provider's response_id (`chatcmpl-…`, `msg_…`,
// `resp_…`, which LiteLLM scripts look calls up by). spend_logs is sorted by time first, so both go through
// a small index table first (spend_request_index, migration 050; spend_response_index, migration 055) that
// gives each call's second, and spend_logs is then read at those seconds only. The caller's scope applies
// to the rows read: another team's call is not found.
import { z } from 'zod';
import { joinSql, type Sql, sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import type { AccessScope } from '../build.js';
import { catalogSql } from '../catalog.js';
import { LOG_COLUMNS, type LogRow, logRowSchema, toLogEntry } from './logRows.js';

/** At most this many calls share one provider id in an answer (ingest callers may reuse one). */
const MAX_MATCHES = 1000;

export interface CallLocation {
  requestId: string;
  /** The call's start second (unix). */
  at: number;
  /** Which id matched: a request_id match comes first in every answer. */
  by: 'request_id' | 'response_id';
}

const locationRow = z.object({
  request_id: z.string(),
  at: z.coerce.number(),
  matched: z.enum(['request_id', 'response_id']),
});

/** Where the calls with this request_id or response_id are (point lookups on the two index tables). */
export async function locateCalls(warehouse: Warehouse, id: string): Promise<CallLocation[]> {
  const rows = await warehouse.rows(
    sql`SELECT DISTINCT request_id, at, matched FROM (
          SELECT request_id, toUnixTimestamp(start_time) AS at, 'request_id' AS matched
            FROM spend_request_index WHERE request_id = ${id}
          UNION ALL
          SELECT request_id, toUnixTimestamp(start_time) AS at, 'response_id' AS matched
            FROM spend_response_index WHERE response_id = ${id}
        ) ORDER BY matched, at DESC, request_id DESC LIMIT ${MAX_MATCHES}`,
    locationRow,
  );
  return rows.map((r) => ({ requestId: r.request_id, at: r.at, by: r.matched }));
}

const seconds = (unix: readonly number[]) => [...new Set(unix)].map((s) => new Date(s * 1000));

/**
 * A spend_logs condition matching exactly the located calls (`0` when none): the logs list's id filter. The
 * sorting key leads with toStartOfHour(start_time), and 18.16 does not derive a condition on it from one on
 * start_time: named explicitly, it skips to the calls' hours (measured at 1M calls over 30 days: 8,192 rows
 * read instead of the day's 33,333).
 */
export function locatedCondition(located: readonly CallLocation[]): Sql {
  if (!located.length) return sql`0`;
  const at = seconds(located.map((l) => l.at));
  return sql`(toStartOfHour(start_time) IN (${joinSql(at.map((d) => sql`toStartOfHour(${d})`))})
    AND start_time IN (${joinSql(at)}) AND request_id IN (${joinSql(located.map((l) => l.requestId))}))`;
}

/** `key_hash = …` / `team_id = …` for a key or team caller; nothing for the master key. */
export function scopeConditions(scope: AccessScope): Sql {
  return joinSql(
    [
      scope.keyHash !== undefined ? sql` AND key_hash = ${scope.keyHash}` : sql``,
      scope.teamId !== undefined ? sql` AND team_id = ${scope.teamId}` : sql``,
    ],
    '',
  );
}

/** The located calls' rows the caller may see, in the order located (request_id match first, newest next). */
export async function readLocated(
  warehouse: Warehouse,
  located: readonly CallLocation[],
  scope: AccessScope,
): Promise<LogRow[]> {
  if (!located.length) return [];
  const rows = await warehouse.rows(
    sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs
        WHERE ${locatedCondition(located)}${scopeConditions(scope)} LIMIT 1 BY request_id`,
    logRowSchema,
  );
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  return located.map((l) => byId.get(l.requestId)).filter((r): r is LogRow => r !== undefined);
}

const payloadRow = z.object({ request_id: z.string(), messages: z.string(), response: z.string() });

async function tableExists(warehouse: Warehouse, name: string): Promise<boolean> {
  const rows = await warehouse.rows(
    sql`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${name}`,
    z.object({ n: z.coerce.number() }),
  );
  return (rows[0]?.n ?? 0) > 0;
}

/** The calls' entries with their prompt/response when stored (spend_payloads, optional). */
export async function withPayloads(warehouse: Warehouse, rows: readonly LogRow[]) {
  if (!rows.length) return [];
  const payloads = (await tableExists(warehouse, 'spend_payloads'))
    ? await warehouse.rows(
        sql`SELECT request_id, messages, response FROM spend_payloads
            WHERE start_time IN (${joinSql(seconds(rows.map((r) => Math.floor(r.start_time_ms / 1000))))})
              AND request_id IN (${joinSql(rows.map((r) => r.request_id))}) LIMIT 1 BY request_id`,
        payloadRow,
      )
    : [];
  const byId = new Map(payloads.map((p) => [p.request_id, p]));
  return rows.map((row) => toLogEntry(row, byId.get(row.request_id) ?? null));
}

/**
 * The re-pricing corrections of a call (docs/repricing.md), in the order they were written. A correction
 * carries its call's start_time, so only that second is read.
 */
export async function correctionsOf(
  warehouse: Warehouse,
  call: { request_id: string; startTime: string; source: string },
  scope: AccessScope,
) {
  if (call.source === 'correction') return [];
  const at = new Date(Math.floor(Date.parse(call.startTime) / 1000) * 1000);
  const rows = await warehouse.rows(
    sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs
        WHERE toStartOfHour(start_time) = toStartOfHour(${at}) AND start_time = ${at}
          AND source = 'correction' AND corrects_request_id = ${call.request_id}${scopeConditions(scope)}
        ORDER BY inserted_at, request_id`,
    logRowSchema,
  );
  return rows.map((row) => toLogEntry(row));
}

/**
 * Every call the caller may see whose request_id or response_id is `id`: a request_id match first, then
 * calls carrying it as their provider id, newest first (at most 1,000).
 */
export async function findCalls(warehouse: Warehouse, id: string, scope: AccessScope) {
  const located = await locateCalls(warehouse, id);
  return withPayloads(warehouse, await readLocated(warehouse, located, scope));
}
