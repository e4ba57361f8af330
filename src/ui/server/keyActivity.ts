// When each key was last used: the newest call per key hash in the last 30 days of spend_logs (bounded so
// the scan prunes to recent partitions; an older key shows "never" in the window, which the UI labels).
import { z } from 'zod';
import { sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';

export const LAST_USED_WINDOW_DAYS = 30;

const rowSchema = z.object({ key_hash: z.string(), last_ms: z.coerce.number() });

export async function keysLastUsed(warehouse: Warehouse, nowMs = Date.now()): Promise<Record<string, string>> {
  const since = new Date(nowMs - LAST_USED_WINDOW_DAYS * 86_400_000);
  const rows = await warehouse.rows(
    sql`SELECT key_hash, max(start_time_ms) AS last_ms FROM spend_logs
      WHERE start_time >= ${since} AND key_hash != '' GROUP BY key_hash`,
    rowSchema,
  );
  return Object.fromEntries(rows.map((r) => [r.key_hash, new Date(r.last_ms).toISOString()]));
}
