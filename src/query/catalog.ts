// What the query API can group, filter and measure, and how each name maps to SQL on each source.
// User-chosen names (group_by, filters, metrics, order_by) only ever select entries of these constant
// tables; no user text becomes SQL except through the `sql` builder as a literal.
import { Sql } from '../clickhouse/sql.js';

export const DIMENSIONS = [
  'team',
  'user',
  'key',
  'customer',
  'model',
  'provider',
  'tag',
  'status',
  'call_type',
  'service_tier',
  'price_source',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const METRICS = [
  'cost',
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'total_tokens',
  'avg_latency_ms',
  'p95_latency_ms',
  'unpriced_requests',
] as const;
export type Metric = (typeof METRICS)[number];

export const GRANULARITIES = ['none', 'hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** One physical table the planner can read: the raw calls or a rollup. */
export interface SourceCatalog {
  name: 'raw' | 'rollup';
  table: string;
  /** DateTime expression used for bucketing and window bounds (a rollup's time key, so the index applies). */
  time: string;
  /** Width of a rollup's time bucket: windows and buckets must be made of whole ones. 0 for raw. */
  grainMs: number;
  /** Dimension → scalar expression; `tag` is the Array(String) tag-set column (exploded with ARRAY JOIN). */
  dimensions: Partial<Record<Dimension, string>>;
  /** Metric → aggregate expression; a missing metric means this source cannot answer it. */
  metrics: Partial<Record<Metric, string>>;
  /** A constant condition every read of this source adds (the scope of spend_scope_daily's rows: rollup.ts). */
  where?: string;
}

// Status is exposed as its class ("2xx", "4xx", "5xx"): the rollup keeps only the class, and a class is
// what dashboards ask about. Exact codes are in the logs endpoints.
export const RAW: SourceCatalog = {
  name: 'raw',
  table: 'spend_logs',
  time: 'start_time',
  grainMs: 0,
  dimensions: {
    team: 'team_id',
    user: 'user_id',
    key: 'key_hash',
    customer: 'customer_id',
    model: 'model',
    provider: 'provider',
    tag: 'tags',
    status: "concat(toString(intDiv(status, 100)), 'xx')",
    call_type: 'call_type',
    service_tier: 'service_tier',
    price_source: 'price_source',
  },
  // Re-pricing corrections (source 'correction', docs/repricing.md) are rows with a cost but no call: they
  // count in cost only, here as in the rollups (clickhouse/063_correction_counts.sql).
  metrics: {
    cost: 'sum(cost_nano)',
    requests: "countIf(source != 'correction')",
    errors: "countIf(status >= 400 AND source != 'correction')",
    prompt_tokens: 'sum(prompt_tokens)',
    completion_tokens: 'sum(completion_tokens)',
    cached_tokens: 'sum(cached_tokens)',
    total_tokens: 'sum(total_tokens)',
    // Half up to 0.1 ms by the same float steps on every server and rollup (rollup.ts): round() differs
    // between 18.16 and current servers on ties and near-ties (11746.05 → 11746.1 on 18.16, 11746 on 26.7).
    avg_latency_ms: "floor(avgIf(duration_ms, source != 'correction') * 10 + 0.5) / 10",
    // Whole ms, the same on every server: 18.16 returns quantile() of a UInt32 as a UInt32 (the interpolated
    // value truncated, 0 for no calls), current servers as Float64 (29198.95, nan); both truncate alike here,
    // and no calls give null (test/conformance).
    p95_latency_ms: "floor(quantileIf(0.95)(toFloat64(duration_ms), source != 'correction'))",
    unpriced_requests: "countIf(cost_status = 'unpriced' AND source != 'correction')",
  },
};

/** The SQL for a dimension; callers have checked (planner) that the source has it. */
export function dimensionSql(source: SourceCatalog, dimension: Dimension): Sql {
  const text = source.dimensions[dimension];
  if (text === undefined) throw new Error(`${source.table} has no ${dimension} column (planner bug)`);
  return new Sql(text);
}

/** Trusted constant SQL text from a catalog entry. */
export function catalogSql(text: string): Sql {
  return new Sql(text);
}

/** Output aliases are prefixed so they never shadow a column name (ClickHouse substitutes aliases everywhere). */
export const dimensionAlias = (d: Dimension) => `g_${d}`;
export const metricAlias = (m: Metric) => `m_${m}`;
