// Spend series for the anomaly test, read from the rollups at the grain asked: per day from spend_scope_daily
// (clickhouse/066: one row per day × team, key, model or tag — a few rows per series and day, sorted by
// series); per hour from spend_hourly_team (team, model, tag) and spend_hourly (key). A tag series counts
// each call under each of its tags (the scope rollup's tag rows; ARRAY JOIN per hour): a spike in any tag is
// what is looked for. Buckets are epoch ms of the UTC day / hour start.
import { z } from 'zod';
import { ident, joinSql, type Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';

export const ANOMALY_DIMENSIONS = ['team', 'key', 'model', 'tag'] as const;
export type AnomalyDimension = (typeof ANOMALY_DIMENSIONS)[number];
export const ANOMALY_GRANULARITIES = ['day', 'hour'] as const;
export type AnomalyGranularity = (typeof ANOMALY_GRANULARITIES)[number];

const TABLES = ['spend_scope_daily', 'spend_hourly_team', 'spend_hourly'] as const;
const COLUMNS = ['value', 'team_id', 'key_hash', 'model', 'tag'] as const;
interface Source {
  table: (typeof TABLES)[number];
  column: (typeof COLUMNS)[number];
  /** The rows of spend_scope_daily that hold this dimension's series. */
  scope?: AnomalyDimension;
}
const scopeRows = (scope: AnomalyDimension): Source => ({ table: 'spend_scope_daily', column: 'value', scope });
const SOURCES: Record<AnomalyGranularity, Record<AnomalyDimension, Source>> = {
  day: { team: scopeRows('team'), key: scopeRows('key'), model: scopeRows('model'), tag: scopeRows('tag') },
  hour: {
    team: { table: 'spend_hourly_team', column: 'team_id' },
    key: { table: 'spend_hourly', column: 'key_hash' },
    model: { table: 'spend_hourly_team', column: 'model' },
    tag: { table: 'spend_hourly_team', column: 'tag' },
  },
};

/** Spend per bucket of one series, `totals[i]` for the i-th of the buckets asked (0 when it spent nothing). */
export interface SpendSeries {
  value: string;
  totals: number[];
}

/** One row per series, its spend per asked bucket side by side (dense: no bucket keys to match). */
const seriesRow = z.object({ series: z.string(), totals: z.array(z.coerce.number()) });
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A bucket as a typed literal. Day literals, not DateTimes: toDate(DateTime) would follow the server's zone. */
function bucketLiteral(granularity: AnomalyGranularity, ms: number): Sql {
  return granularity === 'day' ? sql`toDate(${dayText(ms)})` : sql`${new Date(ms)}`;
}

/**
 * The buckets as `IN` lists of typed literals: ClickHouse reads the primary key and compares native
 * values, where `has([...], toString(day))` converted every row (measured at 100M calls: 0.68 → 0.27 s for a
 * week of keys on spend_key_daily).
 */
function timeFilter(granularity: AnomalyGranularity, buckets: readonly number[]): Sql {
  const column = granularity === 'day' ? sql`day` : sql`hour`;
  return sql`${column} IN (${joinSql(buckets.map((ms) => bucketLiteral(granularity, ms)))})`;
}

/** Which series to read: those holding the `costliest` points (series × bucket) among the buckets `among`. */
export interface CostliestSeries {
  costliest: number;
  among: readonly number[];
}

/**
 * Spend of each series of `dimension` in each of `buckets` (`totals` in the order of `buckets`), every series
 * or (`top`) only the series with the costliest points among some of the buckets — the targets of a run, read
 * with their baselines in one query. Series with an empty value (calls without a team) are left out.
 */
export async function spendSeries(
  warehouse: Warehouse,
  granularity: AnomalyGranularity,
  dimension: AnomalyDimension,
  buckets: readonly number[],
  top?: CostliestSeries,
): Promise<SpendSeries[]> {
  if (buckets.length === 0 || top?.among.length === 0) return [];
  const source = SOURCES[granularity][dimension];
  const column = ident(source.column, COLUMNS);
  const table = ident(source.table, TABLES);
  const arrayJoin = source.column === 'tag' ? sql`ARRAY JOIN tags AS tag` : sql``;
  // The scope first: it leads spend_scope_daily's sort order, then the series' values.
  const scope = source.scope ? sql`scope = ${source.scope} AND ` : sql``;
  const bucketColumn = granularity === 'day' ? sql`day` : sql`hour`;
  // One sum per bucket, grouped by the series alone: grouping by series × bucket cost ClickHouse 18.16 more
  // than the rest of the read (measured at 100M calls, bench/README.md), and rows of one bucket that are not
  // merged yet (or an hourly rollup's rows per model, user, …) add up in the same sum.
  const perBucket = (among: readonly number[]) =>
    joinSql(among.map((ms) => sql`sumIf(cost_nano, ${bucketColumn} = ${bucketLiteral(granularity, ms)})`));
  // The costliest points, unrolled from those sums. IN, not has(): the value follows the scope in
  // spend_scope_daily's sort order, so IN reads only those series' granules.
  const costliest = top
    ? sql`AND ${column} IN (
          SELECT series FROM (
            SELECT ${column} AS series, [${perBucket(top.among)}] AS bucket_totals
            FROM ${table} ${arrayJoin}
            WHERE ${scope}${timeFilter(granularity, top.among)} AND ${column} != ''
            GROUP BY series)
          ARRAY JOIN bucket_totals AS bucket_total, [${joinSql(top.among.map((ms) => bucketLiteral(granularity, ms)))}] AS bucket
          WHERE bucket_total > 0
          ORDER BY bucket_total DESC, series, bucket
          LIMIT ${top.costliest})`
    : sql``;
  const rows = await warehouse.rows(
    sql`SELECT ${column} AS series, [${perBucket(buckets)}] AS totals
        FROM ${table} ${arrayJoin}
        WHERE ${scope}${timeFilter(granularity, buckets)} AND ${column} != '' ${costliest}
        GROUP BY series`,
    seriesRow,
  );
  return rows.map((r) => ({ value: r.series, totals: r.totals }));
}
