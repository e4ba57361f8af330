// `archive verify`: what the archive files hold (read back with DuckDB) against what ClickHouse holds, per
// window. Only closed windows count; a window whose rows ClickHouse no longer has (retention dropped the
// partition) is reported as `retained`, which is the archive doing its job, not a mismatch.
import type { Warehouse } from '../clickhouse/warehouse.js';
import { closedBefore } from './exporter.js';
import { windowLabel, windowStartOf } from './layout.js';
import { localArchive, openArchiveSession } from './reader.js';
import type { ArchiveSettings } from './settings.js';
import { rangeFingerprints } from './source.js';
import type { ArchiveStore } from './store.js';

export type WindowCheck = 'ok' | 'missing' | 'mismatch' | 'retained';

export interface VerifyRow {
  windowStart: number;
  clickhouseRows: number;
  archiveRows: number;
  clickhouseCostNano: bigint;
  archiveCostNano: bigint;
  check: WindowCheck;
}

interface Totals {
  rows: number;
  costNano: bigint;
}

async function archiveTotals(
  settings: ArchiveSettings,
  store: ArchiveStore,
  from: number,
  to: number,
): Promise<Map<number, Totals>> {
  const format = settings.formats.includes('parquet') ? 'parquet' : 'jsonl';
  const archive = await localArchive(settings, store, format, { from, to });
  const session = await openArchiveSession(archive, format);
  try {
    const ws = settings.windowSeconds;
    const reader = await session.conn.runAndReadAll(
      `SELECT (epoch_ms(start_time::TIMESTAMP) // ${ws * 1000}) * ${ws} AS w, count(*)::VARCHAR, sum(cost_nano)::VARCHAR
       FROM spend_logs
       WHERE start_time >= make_timestamp(${from * 1_000_000}) AND start_time < make_timestamp(${to * 1_000_000})
       GROUP BY ALL`,
    );
    return new Map(
      reader.getRows().map((r) => [Number(r[0]), { rows: Number(r[1]), costNano: BigInt(String(r[2] ?? '0')) }]),
    );
  } finally {
    session.close();
    await archive.cleanup();
  }
}

export async function verifyArchive(
  warehouse: Warehouse,
  settings: ArchiveSettings,
  store: ArchiveStore,
  range: { from: number; to: number },
  nowSeconds = Date.now() / 1000,
): Promise<VerifyRow[]> {
  const ws = settings.windowSeconds;
  const from = windowStartOf(range.from, ws);
  const to = Math.min(windowStartOf(range.to + ws - 1, ws), closedBefore(settings, nowSeconds, 0));
  if (to <= from) return [];
  const live = new Map(
    (await rangeFingerprints(warehouse, ws, from, to)).map((f) => [
      f.windowStart,
      { rows: f.rows, costNano: f.costNano },
    ]),
  );
  const archived = await archiveTotals(settings, store, from, to);
  const windows = [...new Set([...live.keys(), ...archived.keys()])].sort((a, b) => a - b);
  return windows.map((windowStart) => {
    const ch = live.get(windowStart) ?? { rows: 0, costNano: 0n };
    const ar = archived.get(windowStart) ?? { rows: 0, costNano: 0n };
    let check: WindowCheck = 'ok';
    if (ch.rows === 0) check = 'retained';
    else if (ar.rows === 0) check = 'missing';
    else if (ch.rows !== ar.rows || ch.costNano !== ar.costNano) check = 'mismatch';
    return {
      windowStart,
      clickhouseRows: ch.rows,
      archiveRows: ar.rows,
      clickhouseCostNano: ch.costNano,
      archiveCostNano: ar.costNano,
      check,
    };
  });
}

export function verifyTableRows(rows: readonly VerifyRow[]): string[][] {
  return rows.map((r) => [
    windowLabel(r.windowStart),
    String(r.clickhouseRows),
    String(r.archiveRows),
    String(r.clickhouseCostNano),
    String(r.archiveCostNano),
    r.check,
  ]);
}

export const VERIFY_COLUMNS = ['window', 'ch_rows', 'archive_rows', 'ch_cost_nano', 'archive_cost_nano', 'check'];
