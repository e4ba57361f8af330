// What the archive reads from ClickHouse: per-window fingerprints (row count, exact cost sum, latest
// inserted_at) that say whether a window changed since it was exported, and a window's rows streamed to a
// file as CSV. ClickHouse does no sorting here: DuckDB sorts far faster (see windowWriter.ts).
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { clickhouseSelectList } from './columns.js';

export interface WindowFingerprint {
  windowStart: number;
  rows: number;
  costNano: bigint;
  /** Epoch seconds of the newest insert into the window: moves when late records land. */
  maxInsertedAt: number;
}

const fingerprintRow = z.object({
  window_start: z.coerce.number(),
  rows: z.coerce.number(),
  cost_nano: z.coerce.bigint(),
  max_inserted_at: z.coerce.number(),
});

function windowExpr(windowSeconds: number): Sql {
  return sql`intDiv(toUInt32(start_time), ${windowSeconds}) * ${windowSeconds}`;
}

function toFingerprint(row: z.infer<typeof fingerprintRow>): WindowFingerprint {
  return { windowStart: row.window_start, rows: row.rows, costNano: row.cost_nano, maxInsertedAt: row.max_inserted_at };
}

export interface CandidateScan {
  /** Windows starting at or after this (epoch s) are candidates: they closed since the last scan. */
  newSince: number;
  /** Windows holding rows inserted at or after this (epoch s) are candidates: late records. */
  insertedSince: number;
  /** Only windows that start before this are closed. */
  closedBefore: number;
}

/**
 * Fingerprints of the closed windows that may need (re-)export. The inner scan reads only start_time and
 * inserted_at, so finding an old window that received a backfilled record stays cheap on a big table.
 */
export async function candidateFingerprints(
  warehouse: Warehouse,
  windowSeconds: number,
  scan: CandidateScan,
): Promise<WindowFingerprint[]> {
  const w = windowExpr(windowSeconds);
  const closed = sql`start_time < toDateTime(${scan.closedBefore})`;
  const rows = await warehouse.rows(
    sql`SELECT ${w} AS window_start, count() AS rows, sum(cost_nano) AS cost_nano,
          toUInt32(max(inserted_at)) AS max_inserted_at
        FROM spend_logs
        WHERE ${closed} AND ${w} IN (
          SELECT DISTINCT ${w} FROM spend_logs
          WHERE ${closed} AND (start_time >= toDateTime(${scan.newSince}) OR inserted_at >= toDateTime(${scan.insertedSince}))
        )
        GROUP BY window_start ORDER BY window_start`,
    fingerprintRow,
  );
  return rows.map(toFingerprint);
}

/** Fingerprints of every non-empty window in [from, to). */
export async function rangeFingerprints(
  warehouse: Warehouse,
  windowSeconds: number,
  from: number,
  to: number,
): Promise<WindowFingerprint[]> {
  const w = windowExpr(windowSeconds);
  const rows = await warehouse.rows(
    sql`SELECT ${w} AS window_start, count() AS rows, sum(cost_nano) AS cost_nano,
          toUInt32(max(inserted_at)) AS max_inserted_at
        FROM spend_logs
        WHERE start_time >= toDateTime(${from}) AND start_time < toDateTime(${to})
        GROUP BY window_start ORDER BY window_start`,
    fingerprintRow,
  );
  return rows.map(toFingerprint);
}

/** Joins small chunks into writes of at least `bytes`. */
function coalesce(bytes: number): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= bytes) {
        this.push(Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
      done();
    },
    flush(done) {
      done(null, size ? Buffer.concat(parts, size) : undefined);
    },
  });
}

/**
 * Streams the window's rows into `path` as headerless CSV in columns.ts's input order, without parsing
 * them. The response arrives in chunks of a few KB; writing them in 1 MiB pieces halves this process's CPU.
 */
export async function streamWindowRows(
  warehouse: Warehouse,
  windowStart: number,
  windowSeconds: number,
  path: string,
): Promise<void> {
  const query = sql`SELECT ${new Sql(clickhouseSelectList())} FROM spend_logs
    WHERE start_time >= toDateTime(${windowStart}) AND start_time < toDateTime(${windowStart + windowSeconds})
    FORMAT CSV`;
  const result = await warehouse.client.exec({ query: query.text });
  await pipeline(result.stream, coalesce(1 << 20), createWriteStream(path));
}
