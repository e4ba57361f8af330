// A recorded call found by the id its provider (or the proxy's Responses translation) gave it, with the
// answer text stored beside it (spend_payloads, when store_prompts_in_spend_logs is on) as written: for
// GET /v1/responses/{id}. The caller's scope applies, as on /spend/logs: another key's call is not found.
import { z } from 'zod';
import { joinSql, sql } from '../../clickhouse/sql.js';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import type { AccessScope } from '../build.js';
import { locateCalls, readLocated } from './callLookup.js';
import type { LogRow } from './logRows.js';

export interface StoredResponse {
  row: LogRow;
  /** The answer text as stored; null when the call's payload was not stored. */
  text: string | null;
}

const payloadRow = z.object({ response: z.string() });

/** The newest call of `callType` whose response_id is `responseId`, visible to the scope; null when none. */
export async function findStoredResponse(
  warehouse: Warehouse,
  responseId: string,
  callType: string,
  scope: AccessScope,
): Promise<StoredResponse | null> {
  const located = (await locateCalls(warehouse, responseId)).filter((l) => l.by === 'response_id');
  const row = (await readLocated(warehouse, located, scope)).find((r) => r.call_type === callType);
  if (!row) return null;
  const tables = await warehouse.rows(
    sql`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'spend_payloads'`,
    z.object({ n: z.coerce.number() }),
  );
  if (!tables[0]?.n) return { row, text: null };
  const second = new Date(Math.floor(row.start_time_ms / 1000) * 1000);
  const payloads = await warehouse.rows(
    sql`SELECT response FROM spend_payloads
        WHERE start_time IN (${joinSql([second])}) AND request_id = ${row.request_id} LIMIT 1`,
    payloadRow,
  );
  const text = payloads[0]?.response;
  return { row, text: text ? text : null };
}
