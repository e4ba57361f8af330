// Reconciliation: proves the rollups say what the raw table says. For a window it sums every measure per
// bucket from spend_logs and from each rollup (spend_hourly and spend_hourly_team per hour, spend_daily per
// day) and lists every difference. Windows are widened to whole buckets (a rollup cannot split an hour). Only meaningful while
// the raw partitions of the window still exist (retention drops raw, never rollups).
import { z } from 'zod';
import { ident, Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';

export const ROLLUP_MEASURES = [
  'requests',
  'errors',
  'unpriced',
  'cost_nano',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'total_tokens',
  'duration_ms_sum',
] as const;
export type RollupMeasure = (typeof ROLLUP_MEASURES)[number];

/**
 * How each measure is computed from raw rows (the materialized views use the same expressions; re-pricing
 * corrections count in cost only: clickhouse/063_correction_counts.sql).
 */
const RAW_EXPRESSIONS: Record<RollupMeasure, string> = {
  requests: "countIf(source != 'correction')",
  errors: "countIf(status >= 400 AND source != 'correction')",
  unpriced: "countIf(cost_status = 'unpriced' AND source != 'correction')",
  cost_nano: 'sum(cost_nano)',
  prompt_tokens: 'sum(prompt_tokens)',
  completion_tokens: 'sum(completion_tokens)',
  cached_tokens: 'sum(cached_tokens)',
  cache_write_tokens: 'sum(cache_write_tokens)',
  reasoning_tokens: 'sum(reasoning_tokens)',
  total_tokens: 'sum(total_tokens)',
  duration_ms_sum: 'sum(toUInt64(duration_ms))',
};

const ROLLUPS = {
  spend_hourly: { bucket: 'hour', rawBucket: 'toStartOfHour(start_time)', bucketMs: 3_600_000 },
  spend_hourly_team: { bucket: 'hour', rawBucket: 'toStartOfHour(start_time)', bucketMs: 3_600_000 },
  spend_daily: { bucket: 'day', rawBucket: 'toDate(start_time)', bucketMs: 86_400_000 },
} as const;
export type RollupTable = keyof typeof ROLLUPS;
const ROLLUP_TABLES = Object.keys(ROLLUPS) as RollupTable[];

export type Totals = Record<RollupMeasure, bigint>;

export interface Mismatch {
  bucket: string;
  measure: RollupMeasure;
  raw: string;
  rollup: string;
}

export interface RollupReconciliation {
  table: RollupTable;
  from: string;
  to: string;
  raw: Record<RollupMeasure, string>;
  rollup: Record<RollupMeasure, string>;
  mismatches: Mismatch[];
}

export interface Reconciliation {
  ok: boolean;
  rollups: RollupReconciliation[];
}

const bucketRow = z.object({ bucket: z.string() }).catchall(z.union([z.string(), z.number()]));

async function sumsByBucket(warehouse: Warehouse, query: Sql): Promise<Map<string, Totals>> {
  const rows = await warehouse.rows(query, bucketRow);
  const out = new Map<string, Totals>();
  for (const row of rows) {
    const totals = {} as Totals;
    for (const m of ROLLUP_MEASURES) totals[m] = BigInt(row[m] ?? 0);
    out.set(row.bucket, totals);
  }
  return out;
}

function zero(): Totals {
  return Object.fromEntries(ROLLUP_MEASURES.map((m) => [m, 0n])) as Totals;
}

function asStrings(t: Totals): Record<RollupMeasure, string> {
  return Object.fromEntries(ROLLUP_MEASURES.map((m) => [m, t[m].toString()])) as Record<RollupMeasure, string>;
}

async function reconcileTable(
  warehouse: Warehouse,
  table: RollupTable,
  from: Date,
  to: Date,
): Promise<RollupReconciliation> {
  const spec = ROLLUPS[table];
  const start = new Date(Math.floor(from.getTime() / spec.bucketMs) * spec.bucketMs);
  const end = new Date(Math.ceil(to.getTime() / spec.bucketMs) * spec.bucketMs);
  const rawSelect = new Sql(ROLLUP_MEASURES.map((m) => `toString(${RAW_EXPRESSIONS[m]}) AS ${m}`).join(', '));
  const rollupSelect = new Sql(ROLLUP_MEASURES.map((m) => `toString(sum(${m})) AS ${m}`).join(', '));
  const bucketCol = ident(spec.bucket, ['hour', 'day']);
  const rawBucket = new Sql(spec.rawBucket);
  const raw = await sumsByBucket(
    warehouse,
    sql`SELECT toString(${rawBucket}) AS bucket, ${rawSelect} FROM spend_logs
        WHERE start_time >= ${start} AND start_time < ${end} GROUP BY bucket`,
  );
  const rollup = await sumsByBucket(
    warehouse,
    sql`SELECT toString(${bucketCol}) AS bucket, ${rollupSelect} FROM ${ident(table, ROLLUP_TABLES)}
        WHERE ${bucketCol} >= ${bucketLiteral(table, start)} AND ${bucketCol} < ${bucketLiteral(table, end)}
        GROUP BY bucket`,
  );
  const mismatches: Mismatch[] = [];
  const rawTotal = zero();
  const rollupTotal = zero();
  for (const bucket of new Set([...raw.keys(), ...rollup.keys()])) {
    const r = raw.get(bucket) ?? zero();
    const u = rollup.get(bucket) ?? zero();
    for (const m of ROLLUP_MEASURES) {
      rawTotal[m] += r[m];
      rollupTotal[m] += u[m];
      if (r[m] !== u[m]) mismatches.push({ bucket, measure: m, raw: r[m].toString(), rollup: u[m].toString() });
    }
  }
  return {
    table,
    from: start.toISOString(),
    to: end.toISOString(),
    raw: asStrings(rawTotal),
    rollup: asStrings(rollupTotal),
    mismatches,
  };
}

function bucketLiteral(table: RollupTable, at: Date): Sql {
  return table === 'spend_daily' ? sql`toDate(${at})` : sql`${at}`;
}

/** Raw sums = rollup sums for every bucket of [from, to) (widened to whole hours / days)? */
export async function reconcile(warehouse: Warehouse, from: Date, to: Date): Promise<Reconciliation> {
  const rollups = [];
  for (const table of ROLLUP_TABLES) rollups.push(await reconcileTable(warehouse, table, from, to));
  return { ok: rollups.every((r) => r.mismatches.length === 0), rollups };
}
