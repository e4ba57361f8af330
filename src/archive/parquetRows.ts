// A small table (a report of a few thousand rows at most) as a Parquet file, written by DuckDB like the
// archive's files: the rows go through a JSON-lines file in a private temp directory and come out with the
// column types given, in the given order. Large exports stream from ClickHouse instead (windowWriter.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duckString, openDuckDb } from './windowWriter.js';

/** Column name → DuckDB type (`VARCHAR`, `BIGINT`, `DECIMAL(18,9)`, …); names are our constants. */
export type ParquetColumns = Readonly<Record<string, string>>;

export async function parquetOfRows(
  rows: readonly Record<string, unknown>[],
  columns: ParquetColumns,
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'spendhouse-report-'));
  const db = await openDuckDb(dir);
  const conn = await db.connect();
  try {
    const input = join(dir, 'rows.jsonl');
    const output = join(dir, 'rows.parquet');
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const types = Object.entries(columns)
      .map(([name, type]) => `${duckString(name)}: ${duckString(type)}`)
      .join(', ');
    const names = Object.keys(columns)
      .map((n) => `"${n}"`)
      .join(', ');
    // An empty report still has its columns: read_json of an empty file with explicit columns gives none.
    const source = rows.length
      ? `SELECT ${names} FROM read_json(${duckString(input)}, format = 'newline_delimited', columns = {${types}})`
      : `SELECT ${Object.entries(columns)
          .map(([n, t]) => `NULL::${t} AS "${n}"`)
          .join(', ')} WHERE false`;
    await conn.run(`COPY (${source}) TO ${duckString(output)} (FORMAT PARQUET, COMPRESSION zstd)`);
    return await readFile(output);
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
