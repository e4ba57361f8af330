// Spend of one budget scope over a time range, read from ClickHouse. Used to rebuild Redis budget counters
// after a loss (src/budgets/rebuild.ts) and for the `spend` fields of /key/info, /team/info, /user/info,
// /customer/info and /tag/info (the query API may reuse it).
// Whole hours come from the hourly rollup (clickhouse/011_spend_hourly.sql, kept by a materialized view at
// insert time, so it is as current as the raw table); only the partial hours at a period's edges (periods
// shorter than an hour, or zones with half-hour offsets) read raw spend_logs, which is then a narrow slice.
import { z } from 'zod';
import { joinSql, Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';

/** Which calls count for a scope. Every given field must match (a key matches any of its hashes). */
export interface SpendFilter {
  key_hashes?: string[];
  user_id?: string;
  team_id?: string;
  customer_id?: string;
  tag?: string;
  model?: string;
}

/** A budget period: `start` inclusive (the epoch = since forever), `end` exclusive (null = up to now). */
export interface SpendRange {
  start: Date;
  end: Date | null;
}

const spendRow = z.object({ spend: z.coerce.number() });

const HOUR_MS = 3_600_000;
const TIME_COLUMN = { raw: 'start_time', hourly: 'hour' } as const;

export function spendConditions(filter: SpendFilter, range: SpendRange, source: 'raw' | 'hourly' = 'raw'): Sql[] {
  const time = new Sql(TIME_COLUMN[source]);
  const where: Sql[] = [];
  if (range.start.getTime() > 0) where.push(sql`${time} >= ${range.start}`);
  if (range.end) where.push(sql`${time} < ${range.end}`);
  if (filter.key_hashes) where.push(sql`key_hash IN (${joinSql(filter.key_hashes.length ? filter.key_hashes : [''])})`);
  if (filter.user_id !== undefined) where.push(sql`user_id = ${filter.user_id}`);
  if (filter.team_id !== undefined) where.push(sql`team_id = ${filter.team_id}`);
  if (filter.customer_id !== undefined) where.push(sql`customer_id = ${filter.customer_id}`);
  if (filter.tag !== undefined) where.push(sql`has(tags, ${filter.tag})`);
  if (filter.model !== undefined) where.push(sql`model = ${filter.model}`);
  return where;
}

async function sumCost(
  warehouse: Warehouse,
  source: 'raw' | 'hourly',
  filter: SpendFilter,
  range: SpendRange,
): Promise<number> {
  const table = new Sql(source === 'raw' ? 'spend_logs' : 'spend_hourly');
  const where = spendConditions(filter, range, source);
  const rows = await warehouse.rows(
    sql`SELECT toString(sum(cost_nano)) AS spend FROM ${table}${where.length ? sql` WHERE ${joinSql(where, ' AND ')}` : sql``}`,
    spendRow,
  );
  return rows[0]?.spend ?? 0;
}

/** Total cost in nano-USD of the calls matching `filter` that started within `range`. */
export async function scopeSpendNano(warehouse: Warehouse, filter: SpendFilter, range: SpendRange): Promise<number> {
  const startMs = range.start.getTime();
  const hoursFrom = new Date(Math.ceil(startMs / HOUR_MS) * HOUR_MS);
  const hoursTo = range.end ? new Date(Math.floor(range.end.getTime() / HOUR_MS) * HOUR_MS) : null;
  if (hoursTo && hoursTo <= hoursFrom) return sumCost(warehouse, 'raw', filter, range);
  const parts = [sumCost(warehouse, 'hourly', filter, { start: hoursFrom, end: hoursTo })];
  if (hoursFrom.getTime() > startMs)
    parts.push(sumCost(warehouse, 'raw', filter, { start: range.start, end: hoursFrom }));
  if (range.end && hoursTo && range.end > hoursTo)
    parts.push(sumCost(warehouse, 'raw', filter, { start: hoursTo, end: range.end }));
  return (await Promise.all(parts)).reduce((a, b) => a + b, 0);
}
