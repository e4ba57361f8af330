// Turns one window's rows (ClickHouse CSV in a temp file) into the archive files with DuckDB's native
// writer: Parquet (standard logical types, zstd/snappy) straight from the CSV, then JSON lines from that
// Parquet file, gzipped here with a fixed header (no mtime) so identical rows always give identical bytes.
// DuckDB won the writer comparison by a wide margin (bench/archive.ts, docs/archive.md); JavaScript never
// touches individual rows.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbArchiveRows } from './columns.js';
import { focusCsvSql, focusRowsSql } from './focus.js';
import type { ArchiveFormat } from './settings.js';

const gzipAsync = promisify(gzip);

export interface WindowFiles {
  rows: number;
  costNano: bigint;
  /** File contents per format, ready to upload. */
  bodies: Partial<Record<ArchiveFormat, Buffer>>;
}

/** A string literal for DuckDB SQL (paths we created ourselves, quoted anyway). */
export function duckString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** An in-process DuckDB whose spill files stay in `tempDir` instead of the working directory. */
export async function openDuckDb(tempDir: string): Promise<DuckDBInstance> {
  // A bounded memory budget: a huge window spills to disk instead of crowding out the proxy.
  return DuckDBInstance.create(':memory:', { temp_directory: tempDir, memory_limit: '2GB' });
}

// ISO-8601 with milliseconds, like the SpendRecord contract; cost_usd as the exact decimal string.
const JSONL_REPLACE = [
  `strftime(start_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS start_time`,
  `strftime(end_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS end_time`,
  'cost_usd::VARCHAR AS cost_usd',
  'json(metadata) AS metadata',
].join(', ');

/** Level 1: 2.6× less CPU than the default 6 for a third more bytes (docs/archive.md, Speed). */
const GZIP_LEVEL = 1;

/**
 * Loads `inputPath` and writes every requested format. Rows are sorted by all columns, request_id first,
 * so the order (and so the bytes) never depends on how ClickHouse happened to return them. The Parquet
 * file is always written — in one pass from the CSV, no table in between — and the totals are read back
 * from it, so the check covers the file itself; the JSON lines are made from it in the same order.
 */
export async function writeWindowFiles(
  inputPath: string,
  workDir: string,
  formats: readonly ArchiveFormat[],
  compression: 'zstd' | 'snappy',
): Promise<WindowFiles> {
  const db = await openDuckDb(workDir);
  const conn = await db.connect();
  try {
    const parquet = duckString(join(workDir, 'part.parquet'));
    await conn.run(
      `COPY (${duckdbArchiveRows(duckString(inputPath))} ORDER BY ALL) TO ${parquet} (FORMAT PARQUET, COMPRESSION ${compression})`,
    );
    const totals = await conn.runAndReadAll(
      `SELECT count(*)::VARCHAR, coalesce(sum(cost_nano), 0)::VARCHAR FROM read_parquet(${parquet})`,
    );
    const [rows = '0', costNano = '0'] = (totals.getRows()[0] ?? []).map(String);
    const bodies: WindowFiles['bodies'] = {};
    if (formats.includes('parquet')) bodies.parquet = await readFile(join(workDir, 'part.parquet'));
    if (formats.includes('jsonl')) {
      const path = join(workDir, 'part.jsonl');
      // DuckDB keeps the file's row order (preserve_insertion_order), so no second sort.
      await conn.run(
        `COPY (SELECT * REPLACE (${JSONL_REPLACE}) FROM read_parquet(${parquet})) TO ${duckString(path)} (FORMAT JSON)`,
      );
      // Node's gzip header carries mtime 0 and no file name: same input, same bytes. Async, so a big
      // window compresses on the thread pool and the event loop (proxy, in role `all`) keeps serving.
      bodies.jsonl = await gzipAsync(await readFile(path), { level: GZIP_LEVEL });
    }
    if (formats.includes('focus_parquet') || formats.includes('focus_csv')) {
      Object.assign(bodies, await writeFocusFiles(conn, parquet, workDir, formats, compression, BigInt(costNano)));
    }
    return { rows: Number(rows), costNano: BigInt(costNano), bodies };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/**
 * The window's FOCUS rows (focus.ts) from its sorted Parquet file, in the same order. Their BilledCost must
 * add up to the window's cost to the nano-USD: a file that does not is never stored.
 */
async function writeFocusFiles(
  conn: DuckDBConnection,
  parquet: string,
  workDir: string,
  formats: readonly ArchiveFormat[],
  compression: 'zstd' | 'snappy',
  costNano: bigint,
): Promise<WindowFiles['bodies']> {
  const path = join(workDir, 'focus.parquet');
  await conn.run(`COPY (${focusRowsSql(parquet)}) TO ${duckString(path)} (FORMAT PARQUET, COMPRESSION ${compression})`);
  const billed = await conn.runAndReadAll(
    `SELECT coalesce(sum("BilledCost") * 1000000000, 0)::HUGEINT::VARCHAR FROM read_parquet(${duckString(path)})`,
  );
  const billedNano = BigInt(String(billed.getRows()[0]?.[0] ?? '0'));
  if (billedNano !== costNano) {
    throw new Error(`FOCUS rows bill ${billedNano} nano-USD for a window that cost ${costNano}: not written`);
  }
  const bodies: WindowFiles['bodies'] = {};
  if (formats.includes('focus_parquet')) bodies.focus_parquet = await readFile(path);
  if (formats.includes('focus_csv')) {
    const csv = join(workDir, 'focus.csv');
    await conn.run(`COPY (${focusCsvSql(duckString(path))}) TO ${duckString(csv)} (FORMAT CSV, HEADER)`);
    bodies.focus_csv = await gzipAsync(await readFile(csv), { level: GZIP_LEVEL });
  }
  return bodies;
}
