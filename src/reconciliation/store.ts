// The imported cost reports in ClickHouse (clickhouse/065_provider_costs.sql) and Spendhouse's own daily
// spend beside them. A day's import is written whole, one version for all its rows, plus a marker row
// (line_item '') that says "this day was imported" even when the provider billed nothing; readers keep,
// per day × provider, only the rows of the latest version, so a re-import replaces and never adds.
import { z } from 'zod';
import { sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { ProviderReport } from './costReports.js';

const IMPORTED_MARKER = '';

/** Microseconds: two imports within one millisecond still order. */
const nextVersion = () => Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000);

export async function storeReport(warehouse: Warehouse, report: ProviderReport, now = new Date()): Promise<void> {
  const version = nextVersion();
  const importedAt = Math.floor(now.getTime() / 1000);
  const row = (day: string, lineItem: string, model: string, costNano: number) => ({
    day,
    provider: report.provider,
    line_item: lineItem,
    model,
    cost_nano: String(costNano),
    imported_at: importedAt,
    version,
  });
  const rows = [...report.days].map((day) => row(day, IMPORTED_MARKER, '', 0));
  for (const line of report.lines) {
    if (report.days.has(line.day)) rows.push(row(line.day, line.lineItem, line.model, line.costNano));
  }
  await warehouse.insert('provider_costs', rows);
}

export interface ImportedCost {
  day: string;
  provider: string;
  lineItem: string;
  model: string;
  costNano: bigint;
  importedAt: number;
}

const importedRow = z
  .object({
    day_text: z.string(),
    provider: z.string(),
    line_item: z.string(),
    latest_model: z.string(),
    latest_cost_nano: z.coerce.bigint(),
    latest_version: z.coerce.bigint(),
    latest_imported_at: z.coerce.number(),
  })
  .transform((r) => ({
    day: r.day_text,
    provider: r.provider,
    line_item: r.line_item,
    model: r.latest_model,
    cost_nano: r.latest_cost_nano,
    version: r.latest_version,
    imported_at: r.latest_imported_at,
  }));

/** The latest import of every day × provider in [fromDay, toDay); `days` lists the imported ones. */
export async function readImportedCosts(
  warehouse: Warehouse,
  fromDay: string,
  toDay: string,
): Promise<{ lines: ImportedCost[]; days: Map<string, number> }> {
  const rows = await warehouse.rows(
    // Aliases differ from the columns: ClickHouse would otherwise read `version` inside argMax as max(version).
    sql`SELECT toString(day) AS day_text, provider, line_item,
          argMax(model, version) AS latest_model, argMax(cost_nano, version) AS latest_cost_nano,
          max(version) AS latest_version, toUInt32(argMax(imported_at, version)) AS latest_imported_at
        FROM provider_costs
        WHERE day >= toDate(${fromDay}) AND day < toDate(${toDay})
        GROUP BY day, provider, line_item`,
    importedRow,
  );
  const latest = new Map<string, bigint>();
  for (const r of rows) {
    const key = `${r.day}\u0000${r.provider}`;
    if ((latest.get(key) ?? -1n) < r.version) latest.set(key, r.version);
  }
  const days = new Map<string, number>();
  const lines: ImportedCost[] = [];
  for (const r of rows) {
    if (latest.get(`${r.day}\u0000${r.provider}`) !== r.version) continue;
    if (r.line_item === IMPORTED_MARKER) days.set(`${r.day}\u0000${r.provider}`, r.imported_at);
    else {
      lines.push({
        day: r.day,
        provider: r.provider,
        lineItem: r.line_item,
        model: r.model,
        costNano: r.cost_nano,
        importedAt: r.imported_at,
      });
    }
  }
  return { lines, days };
}

export interface SpendhouseCost {
  day: string;
  provider: string;
  model: string;
  costNano: bigint;
}

const spendRow = z.object({
  day_text: z.string(),
  provider: z.string(),
  model: z.string(),
  total_nano: z.coerce.bigint(),
});

/** Spendhouse's spend per day × provider × model from the daily rollup (days as ClickHouse's server dates). */
export async function readSpendhouseCosts(
  warehouse: Warehouse,
  fromDay: string,
  toDay: string,
  providers: readonly string[],
): Promise<SpendhouseCost[]> {
  const rows = await warehouse.rows(
    sql`SELECT toString(day) AS day_text, provider, model, sum(cost_nano) AS total_nano
        FROM spend_daily
        WHERE day >= toDate(${fromDay}) AND day < toDate(${toDay}) AND has(${providers}, provider)
        GROUP BY day, provider, model`,
    spendRow,
  );
  return rows.map((r) => ({ day: r.day_text, provider: r.provider, model: r.model, costNano: r.total_nano }));
}
