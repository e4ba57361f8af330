// Renders a planned spend question as one SELECT. Columns and functions come from the catalog (constant
// text); every user value — filter ids, tags, timezone, times, limits — goes through the `sql` builder.
import { joinSql, type Sql, type SqlValue, sql } from '../clickhouse/sql.js';
import {
  catalogSql,
  DIMENSIONS,
  type Dimension,
  dimensionAlias,
  dimensionSql,
  type Granularity,
  type Metric,
  metricAlias,
  type SourceCatalog,
} from './catalog.js';
import type { DimensionFilter, OrderTerm, TagFilter } from './request.js';
import type { Window } from './time.js';

/** Server-side restriction from the caller's identity; ANDed with whatever the caller asked. */
export interface AccessScope {
  keyHash?: string;
  teamId?: string;
}

export interface SelectSpec {
  source: SourceCatalog;
  window: Window;
  timezone: string;
  granularity: Granularity;
  groupBy: readonly Dimension[];
  filters: Partial<Record<Dimension, DimensionFilter>>;
  tags: TagFilter;
  metrics: readonly Metric[];
  scope: AccessScope;
  /** Conditions on raw-only columns (logs filters such as key_alias); only valid with the raw source. */
  extraWhere?: readonly Sql[];
  order?: readonly OrderTerm[];
  /**
   * On raw: the tag filters as one condition on the calls' tag-set hashes (tagSetIndex.ts), replacing the
   * conditions on the tags column that `tags` and a tag filter would otherwise add.
   */
  tagSetCondition?: Sql;
  /** GROUP BY … WITH TOTALS: the totals row comes from the same scan (callers read it with format JSON). */
  withTotals?: boolean;
  limit?: number;
  offset?: number;
}

const TAG_ROW = 'g_tag';
const DAY_MS = 86_400_000;
const stored = (values: readonly (string | null)[]) => values.map((v) => v ?? '');

export function bucketExpr(granularity: Granularity, time: Sql, tz: string): Sql | null {
  switch (granularity) {
    case 'none':
      return null;
    case 'hour':
      return sql`toStartOfHour(${time}, ${tz})`;
    case 'day':
      return sql`toStartOfDay(${time}, ${tz})`;
    case 'week':
      return sql`toDateTime(toMonday(${time}, ${tz}), ${tz})`;
    case 'month':
      return sql`toDateTime(toStartOfMonth(${time}, ${tz}), ${tz})`;
  }
}

function windowWhere(spec: SelectSpec): Sql[] {
  const time = catalogSql(spec.source.time);
  const from = new Date(spec.window.fromMs);
  if (spec.source.name === 'rollup') {
    // The planner only picks a rollup for windows made of whole buckets, so these bounds are exact.
    return [sql`${time} >= ${from}`, sql`${time} < ${new Date(spec.window.toMs)}`];
  }
  // DateTime bounds prune the daily partitions; the hour bounds select granules, because spend_logs is
  // sorted by toStartOfHour(start_time) first and 18.16 does not derive that from bounds on start_time
  // (measured: one hour of a 10M-call table read a whole day without them). Every stored call has
  // start_time = floor(start_time_ms / 1000) (src/ingest/rows.ts), so an edge on a whole second is exact on
  // start_time alone; the ms column is read only for an edge inside a second (reading it was ~30% of the
  // ClickHouse CPU of a raw tag question over 10M calls).
  // An edge on a UTC midnight is a partition edge (partitions are the server's days, UTC where we ship), so
  // its hour bound selects nothing more: it is left out (every condition is evaluated for every row read).
  const { fromMs, toMs } = spec.window;
  const firstSecond = new Date(Math.floor(fromMs / 1000) * 1000);
  const lastSecond = new Date(Math.floor((toMs - 1) / 1000) * 1000);
  const inside = (unit: number, ms: number) => ms % unit !== 0;
  return [
    sql`${time} >= ${firstSecond}`,
    sql`${time} <= ${lastSecond}`,
    ...(inside(DAY_MS, fromMs) ? [sql`toStartOfHour(${time}) >= toStartOfHour(${firstSecond})`] : []),
    ...(inside(DAY_MS, toMs) ? [sql`toStartOfHour(${time}) <= toStartOfHour(${lastSecond})`] : []),
    ...(inside(1000, fromMs) ? [sql`start_time_ms >= ${fromMs}`] : []),
    ...(inside(1000, toMs) ? [sql`start_time_ms < ${toMs}`] : []),
  ];
}

/** The tag set with "untagged" as the one tag '' so null filters and tag rows can name it. */
export const tagSetExpr = (source: SourceCatalog) =>
  sql`if(empty(${dimensionSql(source, 'tag')}), [''], ${dimensionSql(source, 'tag')})`;

export function dimensionWhere(spec: SelectSpec, dimension: Dimension, filter: DimensionFilter): Sql[] {
  const out: Sql[] = [];
  const explodedTag = dimension === 'tag' && spec.groupBy.includes('tag');
  const match = (values: SqlValue[]): Sql => {
    if (dimension === 'tag' && !explodedTag) return sql`hasAny(${tagSetExpr(spec.source)}, ${values})`;
    // `IN (…)`, not has([…], col): ClickHouse 18.16 uses the primary key only for IN and =.
    if (values.length === 0) return sql`0`;
    const column = explodedTag ? catalogSql(TAG_ROW) : dimensionSql(spec.source, dimension);
    return sql`${column} IN (${joinSql(values)})`;
  };
  if (filter.in) out.push(match(stored(filter.in)));
  if (filter.not_in) out.push(sql`NOT ${match(stored(filter.not_in))}`);
  return out;
}

function tagWhere(source: SourceCatalog, tags: TagFilter): Sql[] {
  const out: Sql[] = [];
  if (!tags.all?.length && !tags.any && !tags.none?.length) return out;
  const column = dimensionSql(source, 'tag');
  if (tags.all?.length) out.push(sql`hasAll(${column}, ${tags.all})`);
  if (tags.any) out.push(sql`hasAny(${column}, ${tags.any})`);
  if (tags.none?.length) out.push(sql`NOT hasAny(${column}, ${tags.none})`);
  return out;
}

/**
 * The conditions on the tag set that `spec`'s tag filters put on `source`'s tag column (a filter on the tag
 * dimension of a query grouped by tag applies to the exploded tag rows instead: dimensionWhere).
 */
export function tagConditions(spec: SelectSpec, source: SourceCatalog): Sql[] {
  const filter = spec.filters.tag;
  const setFilter = filter && !spec.groupBy.includes('tag') ? dimensionWhere({ ...spec, source }, 'tag', filter) : [];
  return [...tagWhere(source, spec.tags), ...setFilter];
}

function scopeWhere(source: SourceCatalog, scope: AccessScope): Sql[] {
  const out: Sql[] = [];
  if (scope.keyHash !== undefined) out.push(sql`${dimensionSql(source, 'key')} = ${scope.keyHash}`);
  if (scope.teamId !== undefined) out.push(sql`${dimensionSql(source, 'team')} = ${scope.teamId}`);
  return out;
}

/** Every condition of `spec` except the tag-set condition (which buildSelect reads first, as PREWHERE). */
export function conditions(spec: SelectSpec): Sql {
  const parts = [
    ...(spec.source.where ? [catalogSql(spec.source.where)] : []),
    ...windowWhere(spec),
    ...scopeWhere(spec.source, spec.scope),
    ...(spec.tagSetCondition ? [] : tagConditions(spec, spec.source)),
    ...(spec.extraWhere ?? []),
  ];
  for (const [dimension, filter] of Object.entries(spec.filters) as [Dimension, DimensionFilter | undefined][]) {
    const onTagRows = dimension === 'tag' && spec.groupBy.includes('tag');
    if (filter && (dimension !== 'tag' || onTagRows)) parts.push(...dimensionWhere(spec, dimension, filter));
  }
  return joinSql(parts, ' AND ');
}

export function whereClause(spec: SelectSpec): Sql {
  return spec.tagSetCondition ? sql`${spec.tagSetCondition} AND ${conditions(spec)}` : conditions(spec);
}

const DIMENSION_SET: ReadonlySet<string> = new Set(DIMENSIONS);

function orderAlias(field: OrderTerm['field']): string {
  if (field === 'bucket') return 'bucket';
  return DIMENSION_SET.has(field) ? dimensionAlias(field as Dimension) : metricAlias(field as Metric);
}

export function buildSelect(spec: SelectSpec): Sql {
  const { source } = spec;
  const select: Sql[] = [];
  const groupBy: Sql[] = [];
  const bucket = bucketExpr(spec.granularity, catalogSql(source.time), spec.timezone);
  if (bucket) {
    select.push(sql`toUnixTimestamp(${bucket}) AS bucket`);
    groupBy.push(catalogSql('bucket'));
  }
  for (const d of spec.groupBy) {
    if (d !== 'tag') select.push(sql`${dimensionSql(source, d)} AS ${catalogSql(dimensionAlias(d))}`);
    else select.push(catalogSql(TAG_ROW));
    groupBy.push(catalogSql(dimensionAlias(d)));
  }
  for (const m of spec.metrics) {
    select.push(sql`${catalogSql(source.metrics[m] ?? 'NULL')} AS ${catalogSql(metricAlias(m))}`);
  }
  const arrayJoin = spec.groupBy.includes('tag')
    ? sql` ARRAY JOIN ${tagSetExpr(source)} AS ${catalogSql(TAG_ROW)}`
    : sql``;
  const totals = spec.withTotals ? sql` WITH TOTALS` : sql``;
  const group = groupBy.length ? sql` GROUP BY ${joinSql(groupBy)}${totals}` : sql``;
  return sql`SELECT ${joinSql(select)} FROM ${catalogSql(source.table)}${arrayJoin}${prewhere(spec)} WHERE ${conditions(spec)}${group}${orderAndLimit(spec)}`;
}

/**
 * The tag-set hash alone decides which calls count: reading it first, the other columns are read only for
 * granules that hold matching calls (measured at 100M calls: 8% less ClickHouse CPU than in WHERE).
 */
export function prewhere(spec: SelectSpec): Sql {
  return spec.tagSetCondition ? sql` PREWHERE ${spec.tagSetCondition}` : sql``;
}

/** ` ORDER BY … LIMIT offset, n` over the output aliases. */
export function orderAndLimit(spec: SelectSpec): Sql {
  const order = spec.order?.length
    ? sql` ORDER BY ${joinSql(spec.order.map((t) => catalogSql(`${orderAlias(t.field)} ${t.direction === 'desc' ? 'DESC' : 'ASC'}`)))}`
    : sql``;
  const limit = spec.limit !== undefined ? sql` LIMIT ${spec.offset ?? 0}, ${spec.limit}` : sql``;
  return sql`${order}${limit}`;
}
