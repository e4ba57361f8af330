// Runs a /spend/query request: plan, one grouped SELECT (a page of rows) and one totals SELECT (every
// matching call counted once, even when tag rows overlap), then money as exact decimal USD strings.
import { z } from 'zod';
import type { Sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { AppError, badRequest } from '../errors.js';
import { nanoToUsd } from '../spendRecord.js';
import { type AccessScope, buildSelect, type SelectSpec } from './build.js';
import { type Dimension, dimensionAlias, type Metric, metricAlias } from './catalog.js';
import { dimensionsOf } from './piecewise.js';
import { choosePlan } from './planner.js';
import { type OrderTerm, type SpendQuery, type SpendQueryInput, spendQuerySchema } from './request.js';
import { availableRollups } from './rollup.js';
import { tagSetIndex } from './tagSetIndex.js';
import { buildSplitSelect, checkSplittable } from './tagSplit.js';
import { checkTimezone, formatInZone, parseWindow } from './time.js';

export type MetricValues = Partial<Record<Metric, number | string | null>> & {
  cost_usd?: string;
  cost_nano?: number | string;
};
export type ResultRow = { bucket?: string } & Partial<Record<Dimension, string | null>> & MetricValues;

export interface SpendQueryResult {
  source: 'rollup' | 'raw';
  /** The table that answered (a rollup such as spend_team_daily or spend_hourly, or spend_logs). */
  source_table: string;
  /** Why no rollup could answer, when the raw table did. */
  source_reason: string | null;
  /**
   * A raw answer with a tag filter: how many tag sets matched it in the tag-set index (the scan then read
   * each call's tag-set hash, not its tags); null when the tags themselves were read, and always for a
   * key-scoped caller.
   */
  tag_sets_matched: number | null;
  from: string;
  to: string;
  timezone: string;
  granularity: SpendQuery['granularity'];
  group_by: Dimension[];
  metrics: Metric[];
  tag_attribution: SpendQuery['tag_attribution'];
  /**
   * True when grouped by tag with `tag_attribution: overlap`: a call with several tags is in several rows, so
   * rows sum to more than totals. With `split` each call is divided among its tags and rows sum to totals.
   */
  tag_rows_overlap: boolean;
  rows: ResultRow[];
  totals: MetricValues;
  next_cursor: string | null;
}

const rowSchema = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));
type Row = z.infer<typeof rowSchema>;
const withTotalsSchema = z.object({ data: z.array(rowSchema), totals: rowSchema.optional() });

/**
 * A GROUP BY … WITH TOTALS answer: JSONEachRow drops the totals row, the JSON format carries it. Null when
 * the answer is not a JSON document: current ClickHouse (26.7, test/conformance) writes the totals of an
 * answer without rows before its header (`],"totals":{…}{"meta":…`); the caller then asks without totals.
 */
async function rowsWithTotals(warehouse: Warehouse, query: Sql): Promise<z.infer<typeof withTotalsSchema> | null> {
  const result = await warehouse.client.query({ query: query.text, format: 'JSON' });
  let document: unknown;
  try {
    document = JSON.parse(await result.text());
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
  return withTotalsSchema.parse(document);
}

const MAX_OFFSET = 1_000_000;
function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0 && o <= MAX_OFFSET) return o;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('cursor', 'not a cursor returned by this API');
}
const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

/** Explicit order first, then bucket, then the headline metric, then every dimension (stable paging). */
function resolveOrder(query: SpendQuery): OrderTerm[] {
  const requested =
    query.order_by === undefined ? [] : Array.isArray(query.order_by) ? query.order_by : [query.order_by];
  const selectable = new Set<string>([...query.group_by, ...query.metrics]);
  if (query.granularity !== 'none') selectable.add('bucket');
  for (const term of requested) {
    if (!selectable.has(term.field))
      throw badRequest('order_by', `${term.field} is not in group_by, metrics or bucket`);
  }
  const terms = [...requested];
  const add = (field: OrderTerm['field'], direction: OrderTerm['direction']) => {
    if (!terms.some((t) => t.field === field)) terms.push({ field, direction });
  };
  if (query.granularity !== 'none') add('bucket', 'asc');
  const headline = query.metrics.find((m) => m === 'cost') ?? query.metrics.find((m) => m === 'requests');
  if (headline && requested.length === 0) add(headline, 'desc');
  for (const d of query.group_by) add(d, 'asc');
  return terms;
}

/** UInt64 sums arrive as strings; cost_nano stays a JSON number while it is exactly representable. */
function exactInteger(value: string | number | null | undefined): number | string {
  const big = BigInt(value ?? 0);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

function metricValues(row: Record<string, string | number | null>, metrics: readonly Metric[]): MetricValues {
  const out: MetricValues = {};
  for (const m of metrics) {
    const value = row[metricAlias(m)];
    if (m === 'cost') {
      out.cost_usd = nanoToUsd(BigInt(value ?? 0));
      out.cost_nano = exactInteger(value);
    } else if (m === 'avg_latency_ms' || m === 'p95_latency_ms') {
      out[m] = value === null || value === undefined || Number.isNaN(Number(value)) ? null : Number(value);
    } else out[m] = exactInteger(value);
  }
  return out;
}

/**
 * The page of groups (none when the answer is not grouped) and the totals row. One scan for both where it
 * can: GROUP BY … WITH TOTALS aggregates every group, not just the page. (Tag rows overlap, so their totals
 * would count a call once per tag: those take a second query.)
 */
async function pageAndTotals(
  warehouse: Warehouse,
  base: SelectSpec,
  pageSpec: SelectSpec,
  grouped: boolean,
  select: (spec: SelectSpec) => Sql,
): Promise<{ page: Row[]; totalRows: Row[] }> {
  const answer =
    grouped && !base.groupBy.includes('tag')
      ? await rowsWithTotals(warehouse, buildSelect({ ...pageSpec, withTotals: true }))
      : null;
  if (answer) return { page: answer.data, totalRows: answer.totals ? [answer.totals] : [] };
  const [page, totalRows] = await Promise.all([
    grouped ? warehouse.rows(select(pageSpec), rowSchema) : Promise.resolve([]),
    warehouse.rows(buildSelect({ ...base, groupBy: [], granularity: 'none' }), rowSchema),
  ]);
  return { page, totalRows };
}

export async function runSpendQuery(
  warehouse: Warehouse,
  query: SpendQuery,
  scope: AccessScope,
  nowMs = Date.now(),
): Promise<SpendQueryResult> {
  const timezone = checkTimezone(query.timezone);
  const window = parseWindow(query.from, query.to, timezone, nowMs);
  const offset = decodeCursor(query.cursor);
  const order = resolveOrder(query);
  const split = query.tag_attribution === 'split' && query.group_by.includes('tag');
  if (split) checkSplittable(query.metrics);
  const select = split ? buildSplitSelect : buildSelect;
  const dimensions = [
    ...new Set<Dimension>([
      ...query.group_by,
      ...dimensionsOf({ filters: query.filters, tags: query.tags, scope, rawOnly: [] }),
    ]),
  ];
  const rollups = await availableRollups(warehouse);
  const plan = choosePlan(
    { window, timezone, granularity: query.granularity, dimensions, metrics: query.metrics, source: query.source },
    rollups,
  );
  const asked: SelectSpec = {
    source: plan.source,
    window,
    timezone,
    granularity: query.granularity,
    groupBy: query.group_by,
    filters: query.filters,
    tags: query.tags,
    metrics: query.metrics,
    scope,
  };
  const tagSets = await tagSetIndex(warehouse, asked, rollups);
  const base: SelectSpec = tagSets ? { ...asked, tagSetCondition: tagSets.condition } : asked;
  const grouped = query.group_by.length > 0 || query.granularity !== 'none';
  const pageSpec: SelectSpec = { ...base, order, limit: query.limit + 1, offset };
  const { page, totalRows } = await pageAndTotals(warehouse, base, pageSpec, grouped, select);
  const totals = metricValues(totalRows[0] ?? {}, query.metrics);
  const bucketLabel = bucketLabels(timezone);
  const rows: ResultRow[] = grouped
    ? page.slice(0, query.limit).map((row) => formatRow(row, query, bucketLabel))
    : [{ ...totals }];
  return {
    source: plan.source.name,
    source_table: plan.source.table,
    source_reason: plan.reason,
    // Not for a key-scoped caller: the sets are counted over every key of the days (the scan is scoped).
    tag_sets_matched: tagSets && scope.keyHash === undefined ? tagSets.sets : null,
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    timezone,
    granularity: query.granularity,
    group_by: query.group_by,
    metrics: query.metrics,
    tag_attribution: query.tag_attribution,
    tag_rows_overlap: query.group_by.includes('tag') && !split,
    rows,
    totals,
    next_cursor: grouped && page.length > query.limit ? encodeCursor(offset + query.limit) : null,
  };
}

/**
 * Bucket start → its label in the zone, once per distinct bucket of an answer: rows share buckets (a month by
 * model per day is 600 rows of 30 buckets), and each label costs an Intl offset lookup.
 */
function bucketLabels(timezone: string): (epochSeconds: number) => string {
  const labels = new Map<number, string>();
  return (epochSeconds) => {
    let label = labels.get(epochSeconds);
    if (label === undefined) {
      label = formatInZone(epochSeconds * 1000, timezone);
      labels.set(epochSeconds, label);
    }
    return label;
  };
}

function formatRow(
  row: Record<string, string | number | null>,
  query: SpendQuery,
  bucketLabel: (epochSeconds: number) => string,
): ResultRow {
  const out: ResultRow = {};
  if (query.granularity !== 'none') out.bucket = bucketLabel(Number(row.bucket));
  for (const d of query.group_by) {
    const value = row[dimensionAlias(d)];
    out[d] = value === '' || value === null || value === undefined ? null : String(value);
  }
  return { ...out, ...metricValues(row, query.metrics) };
}

/** Server-side reports (LiteLLM endpoints) read every row; past this they ask for a narrower window. */
const REPORT_MAX_ROWS = 200_000;

export interface ReportLimit {
  /** At most this many rows (default REPORT_MAX_ROWS). */
  maxRows?: number;
  /**
   * What a caller past the limit can change, when it is not the window (a report of a fixed month): the
   * request field and what to do with it, e.g. `{ param: 'group_by', hint: 'group by fewer dimensions' }`.
   */
  tooLarge?: { param: string; hint: string };
}

/** A query built in code, answered whole (no paging), through the same planner and totals as /spend/query. */
export async function runReport(
  warehouse: Warehouse,
  input: SpendQueryInput,
  scope: AccessScope,
  limit: ReportLimit = {},
): Promise<SpendQueryResult> {
  const maxRows = limit.maxRows ?? REPORT_MAX_ROWS;
  const query = { ...spendQuerySchema.parse(input), limit: maxRows };
  const result = await runSpendQuery(warehouse, query, scope);
  if (result.next_cursor) {
    const { tooLarge } = limit;
    if (tooLarge) {
      throw badRequest(tooLarge.param, `the report has more than ${maxRows} rows: ${tooLarge.hint}`);
    }
    throw new AppError('bad_request', `the report has more than ${maxRows} rows: narrow the window`);
  }
  return result;
}
