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

export interface SpendPoint {
  bucketMs: number;
  value: string;
  nano: number;
}

/**
 * One row per series, its buckets and totals side by side: the baselines of 1,000 keys over 28 days are
 * 1,000 rows to check, not 28,000 (measured at 100M calls: the Node side of /spend/anomalies was most of it).
 */
const seriesRow = z.object({
  series: z.string(),
  buckets: z.array(z.union([z.string(), z.number()])),
  totals: z.array(z.coerce.number()),
});
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The buckets as `IN` lists of typed literals: ClickHouse reads the primary key and compares native
 * values, where `has([...], toString(day))` converted every row (measured at 100M calls: 0.68 → 0.27 s for a
 * week of keys on spend_key_daily).
 */
function timeFilter(granularity: AnomalyGranularity, buckets: readonly number[]): Sql {
  if (granularity === 'day') {
    // Day literals, not DateTimes: toDate(DateTime) would follow the server's zone.
    return sql`day IN (${joinSql(buckets.map((ms) => sql`toDate(${dayText(ms)})`))})`;
  }
  return sql`hour IN (${joinSql(buckets.map((ms) => sql`${new Date(ms)}`))})`;
}

/**
 * Spend per bucket × value of `dimension` in the given buckets; `values` narrows to those series, `top` keeps
 * the costliest series only (the targets of a run). Series with an empty value (calls without a team) are
 * left out.
 */
export async function spendPoints(
  warehouse: Warehouse,
  granularity: AnomalyGranularity,
  dimension: AnomalyDimension,
  buckets: readonly number[],
  narrow: { values?: readonly string[]; top?: number } = {},
): Promise<SpendPoint[]> {
  if (buckets.length === 0 || narrow.values?.length === 0) return [];
  const source = SOURCES[granularity][dimension];
  const column = ident(source.column, COLUMNS);
  const table = ident(source.table, TABLES);
  const arrayJoin = source.column === 'tag' ? sql`ARRAY JOIN tags AS tag` : sql``;
  // The scope first: it leads spend_scope_daily's sort order, then the series' values.
  const scope = source.scope ? sql`scope = ${source.scope} AND ` : sql``;
  const bucketKey = granularity === 'day' ? sql`day` : sql`toUInt32(hour)`;
  // IN, not has(): the value follows the scope in spend_scope_daily's sort order, so IN reads only those
  // series' granules.
  const values = narrow.values ? sql`AND ${column} IN (${joinSql(narrow.values)})` : sql``;
  const top = narrow.top
    ? sql`HAVING total_nano > 0 ORDER BY total_nano DESC, series, bucket_key LIMIT ${narrow.top}`
    : sql``;
  const rows = await warehouse.rows(
    sql`SELECT series, groupArray(bucket_key) AS buckets, groupArray(total_nano) AS totals
        FROM (
          SELECT ${bucketKey} AS bucket_key, ${column} AS series, sum(cost_nano) AS total_nano
          FROM ${table} ${arrayJoin}
          WHERE ${scope}${timeFilter(granularity, buckets)} AND ${column} != '' ${values}
          GROUP BY bucket_key, series ${top}
        )
        GROUP BY series`,
    seriesRow,
  );
  const points: SpendPoint[] = [];
  for (const row of rows) {
    row.buckets.forEach((bucket, i) => {
      const bucketMs = typeof bucket === 'number' ? bucket * 1000 : Date.parse(`${bucket}T00:00:00Z`);
      points.push({ bucketMs, value: row.series, nano: row.totals[i] ?? 0 });
    });
  }
  return points;
}
