// The manifest lives in ClickHouse (clickhouse/060_archive_manifest.sql) beside the data it describes:
// one query joins "what ClickHouse holds now" with "what was exported", and a deployment that moves its
// archive to another bucket starts a fresh manifest because entries are keyed by destination.
import { z } from 'zod';
import { sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { WindowFingerprint } from './source.js';

export interface ManifestObject {
  key: string;
  sha256: string;
  bytes: number;
}

export interface ManifestEntry extends WindowFingerprint {
  windowSeconds: number;
  objects: ManifestObject[];
  exportedAt: number;
}

const manifestRow = z.object({
  window_start: z.coerce.number(),
  window_seconds: z.coerce.number(),
  rows: z.coerce.number(),
  cost_nano: z.coerce.bigint(),
  max_inserted_at: z.coerce.number(),
  object_keys: z.array(z.string()),
  object_sha256: z.array(z.string()),
  object_bytes: z.array(z.coerce.number()),
  exported_at: z.coerce.number(),
});

/** Latest manifest entries of `destination` for windows in [from, to), by window start. */
export async function readManifest(
  warehouse: Warehouse,
  destination: string,
  from: number,
  to: number,
): Promise<Map<number, ManifestEntry>> {
  const rows = await warehouse.rows(
    sql`SELECT toUInt32(window_start) AS window_start, window_seconds, rows, cost_nano,
          toUInt32(max_inserted_at) AS max_inserted_at, object_keys, object_sha256, object_bytes,
          toUInt32(exported_at) AS exported_at
        FROM archive_manifest FINAL
        WHERE destination = ${destination}
          AND window_start >= toDateTime(${from}) AND window_start < toDateTime(${to})
        ORDER BY window_start`,
    manifestRow,
  );
  return new Map(
    rows.map((r) => [
      r.window_start,
      {
        windowStart: r.window_start,
        windowSeconds: r.window_seconds,
        rows: r.rows,
        costNano: r.cost_nano,
        maxInsertedAt: r.max_inserted_at,
        objects: r.object_keys.map((key, i) => ({
          key,
          sha256: r.object_sha256[i] ?? '',
          bytes: r.object_bytes[i] ?? 0,
        })),
        exportedAt: r.exported_at,
      },
    ]),
  );
}

export async function recordExport(warehouse: Warehouse, destination: string, entry: ManifestEntry): Promise<void> {
  await warehouse.insert('archive_manifest', [
    {
      destination,
      window_start: entry.windowStart,
      window_seconds: entry.windowSeconds,
      rows: entry.rows,
      cost_nano: entry.costNano.toString(),
      max_inserted_at: entry.maxInsertedAt,
      object_keys: entry.objects.map((o) => o.key),
      object_sha256: entry.objects.map((o) => o.sha256),
      object_bytes: entry.objects.map((o) => o.bytes),
      exported_at: entry.exportedAt,
      // Microsecond clock: two exports of one window within a second still order correctly.
      version: Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000),
    },
  ]);
}

/** True when the live ClickHouse fingerprint still matches what was exported. */
export function isCurrent(entry: ManifestEntry | undefined, live: WindowFingerprint): boolean {
  return (
    entry !== undefined &&
    entry.rows === live.rows &&
    entry.costNano === live.costNano &&
    entry.maxInsertedAt === live.maxInsertedAt
  );
}
