// `tag_attribution: split`: a query grouped by tag in which each call's cost (and every other additive
// metric) is divided among the tags of its tag set, so tag rows add up to the real total (chargeback).
// The overlapping view (the default) counts a call once under each of its tags.
//
// Exact in integers: the calls of one group (bucket × the other dimensions × exact tag set) are summed
// first, then the group's sum s over its k tags (sorted, the untagged set being the one tag '') gives each
// tag intDiv(s, k), and the first |s mod k| tags one unit more (one less for a negative sum: a re-pricing
// correction). The shares of a group add up to s, so the rows add up to the totals to the nano-USD; and
// the rollups and the raw table, which hold the same group sums, give the same shares.
import { joinSql, type Sql, sql } from '../clickhouse/sql.js';
import { badRequest } from '../errors.js';
import {
  bucketExpr,
  conditions,
  dimensionWhere,
  orderAndLimit,
  prewhere,
  type SelectSpec,
  tagSetExpr,
} from './build.js';
import { catalogSql, dimensionAlias, dimensionSql, METRICS, type Metric, metricAlias } from './catalog.js';

/** Metrics a call's share can be taken of: all but the latencies, which are not sums. */
const SPLITTABLE: ReadonlySet<Metric> = new Set(
  METRICS.filter((m) => m !== 'avg_latency_ms' && m !== 'p95_latency_ms'),
);

/** A 400 naming `metrics` when one cannot be split among tags. */
export function checkSplittable(metrics: readonly Metric[]): void {
  const bad = metrics.find((m) => !SPLITTABLE.has(m));
  if (bad) {
    throw badRequest('metrics', `${bad} is not a sum, so it cannot be split among tags: use tag_attribution=overlap`);
  }
}

const TAGS = 'g_tags';
const INDEX = 'g_tag_index';
const innerAlias = (m: Metric) => `i_${m}`;

/** This tag's share of the group sum `value` (see the header); Int64 throughout so signs and types agree. */
function share(value: Sql): Sql {
  const s = sql`toInt64(${value})`;
  const k = sql`toInt64(length(${catalogSql(TAGS)}))`;
  return sql`intDiv(${s}, ${k}) + if(${catalogSql(INDEX)} <= abs(${s} % ${k}), if(${s} < 0, -1, 1), 0)`;
}

/** The SELECT for a query grouped by tag with split attribution (the engine's choice; buildSelect otherwise). */
export function buildSplitSelect(spec: SelectSpec): Sql {
  checkSplittable(spec.metrics);
  const { source } = spec;
  const others = spec.groupBy.filter((d) => d !== 'tag');
  const bucket = bucketExpr(spec.granularity, catalogSql(source.time), spec.timezone);
  const keys = [...(bucket ? ['bucket'] : []), ...others.map(dimensionAlias)].map(catalogSql);

  const innerSelect: Sql[] = [
    ...(bucket ? [sql`toUnixTimestamp(${bucket}) AS bucket`] : []),
    ...others.map((d) => sql`${dimensionSql(source, d)} AS ${catalogSql(dimensionAlias(d))}`),
    sql`${tagSetExpr(source)} AS ${catalogSql(TAGS)}`,
    ...spec.metrics.map((m) => sql`${catalogSql(source.metrics[m] ?? 'NULL')} AS ${catalogSql(innerAlias(m))}`),
  ];
  // A filter on the tag dimension picks tag rows after the split (a call tagged a and c gives a its half
  // under filters.tag.in=[a]); every other condition picks calls before it.
  const { tag: tagFilter, ...callFilters } = spec.filters;
  const inner = sql`SELECT ${joinSql(innerSelect)} FROM ${catalogSql(source.table)}${prewhere(spec)} WHERE ${conditions({ ...spec, filters: callFilters })} GROUP BY ${joinSql([...keys, catalogSql(TAGS)])}`;

  const tagAlias = catalogSql(dimensionAlias('tag'));
  const outerSelect: Sql[] = [
    ...keys,
    tagAlias,
    ...spec.metrics.map((m) => sql`sum(${share(catalogSql(innerAlias(m)))}) AS ${catalogSql(metricAlias(m))}`),
  ];
  const rowFilter = tagFilter ? dimensionWhere(spec, 'tag', tagFilter) : [];
  const where = rowFilter.length ? sql` WHERE ${joinSql(rowFilter, ' AND ')}` : sql``;
  return sql`SELECT ${joinSql(outerSelect)} FROM (${inner}) ARRAY JOIN ${catalogSql(TAGS)} AS ${tagAlias}, arrayEnumerate(${catalogSql(TAGS)}) AS ${catalogSql(INDEX)}${where} GROUP BY ${joinSql([...keys, tagAlias])}${orderAndLimit(spec)}`;
}
