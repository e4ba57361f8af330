// What re-pricing reads from ClickHouse, one slice of time at a time (bounded memory on any window): the
// calls of the slice (records of source proxy, ingest and batch — never corrections) with their stored
// usage, attribution and cost, and per call the corrections already written for it (their count and the
// sum of their signed deltas), which start at the call's own start_time and so sit in the same slice.
import { z } from 'zod';
import { joinSql, Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { fromQueuedRow } from '../ingest/rows.js';
import { LOG_COLUMNS } from '../query/logs/logRows.js';
import { storedRowSchema } from '../spendLogColumns.js';
import type { SpendRecord } from '../spendRecord.js';

/** Which calls a run re-prices: a time window, optionally narrowed to models and teams. */
export interface RepriceScope {
  from: Date;
  to: Date;
  models: string[];
  teams: string[];
}

/** The stored row's columns (src/spendLogColumns.ts), as the logs endpoints read a call. */
const STORED_COLUMNS = new Sql(LOG_COLUMNS);
const int = z.coerce.number().pipe(z.number().int().safe());

const correctionSumRow = z.object({
  request_id: z.string(),
  corrections: int,
  cost_nano: int,
  list_cost_nano: int,
});

/** What the corrections written so far add to one call. */
export interface Corrected {
  corrections: number;
  costNano: number;
  listCostNano: number;
}

function sliceConditions(scope: RepriceScope, from: Date, to: Date): Sql[] {
  // start_time (whole seconds, the sort key) narrows the read; start_time_ms holds the exact bounds.
  const where = [sql`start_time >= ${from}`, sql`start_time <= ${to}`];
  where.push(sql`start_time_ms >= ${from.getTime()}`, sql`start_time_ms < ${to.getTime()}`);
  if (scope.models.length) where.push(sql`model IN (${joinSql(scope.models)})`);
  if (scope.teams.length) where.push(sql`team_id IN (${joinSql(scope.teams)})`);
  return where;
}

/** The calls starting in [from, to) within the scope, oldest first, as the records they were stored from. */
export async function readCalls(
  warehouse: Warehouse,
  scope: RepriceScope,
  from: Date,
  to: Date,
): Promise<SpendRecord[]> {
  const where = joinSql([...sliceConditions(scope, from, to), sql`source != 'correction'`], ' AND ');
  const rows = await warehouse.rows(
    sql`SELECT ${STORED_COLUMNS} FROM spend_logs WHERE ${where} ORDER BY start_time_ms, request_id`,
    storedRowSchema,
  );
  return rows.map(fromQueuedRow);
}

/** Per corrected call of the slice: how many corrections it has and what they add up to. */
export async function readCorrections(
  warehouse: Warehouse,
  scope: RepriceScope,
  from: Date,
  to: Date,
): Promise<Map<string, Corrected>> {
  const where = joinSql([...sliceConditions(scope, from, to), sql`source = 'correction'`], ' AND ');
  const rows = await warehouse.rows(
    sql`SELECT corrects_request_id AS request_id, count() AS corrections,
          toString(sum(cost_nano)) AS cost_nano, toString(sum(list_cost_nano)) AS list_cost_nano
        FROM spend_logs WHERE ${where} GROUP BY corrects_request_id`,
    correctionSumRow,
  );
  return new Map(
    rows.map((r) => [
      r.request_id,
      { corrections: r.corrections, costNano: r.cost_nano, listCostNano: r.list_cost_nano },
    ]),
  );
}
