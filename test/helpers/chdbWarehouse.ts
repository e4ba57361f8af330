// A Warehouse over a current ClickHouse running in this process (chdb: ClickHouse 26.x, dev dependency), for
// the conformance suite (test/conformance/). The app's own Warehouse class gets a real @clickhouse/client
// whose connection is chdb's (`chdb/connection`), so every query function, the migration runner and the
// worker's insert path run unchanged: only the transport differs from production's HTTP.
// chdb holds one engine (one data directory) per process: one such warehouse per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { databaseIdent, sql } from '../../src/clickhouse/sql.js';
import { Warehouse } from '../../src/clickhouse/warehouse.js';

/**
 * Session settings that make the embedded engine answer as a ClickHouse server does over HTTP in production
 * (docker-compose):
 * - 64-bit integers quoted in JSON formats: the server's default (`output_format_json_quote_64bit_integers`
 *   = 1, documented for the JSON formats); clickhouse-local, which chdb embeds, writes them unquoted. The
 *   app reads both, but a sum past 2^53 would lose digits unquoted, so this is the production behaviour to test.
 * - UTC as the session's zone: the deployments we ship run the server in UTC, and daily rollups are used only
 *   on a UTC server (src/query/rollup.ts). chdb otherwise takes the machine's zone.
 */
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];

const SERVER_LIKE_SETTINGS = [sql`SET output_format_json_quote_64bit_integers = 1`, sql`SET session_timezone = 'UTC'`];

export interface ChdbWarehouse {
  warehouse: Warehouse;
  /** The engine's version, e.g. 26.7.2.1. */
  version: string;
  close(): Promise<void>;
}

/** A fresh chdb engine in a temporary directory, with `database` created and selected (USE) for the session. */
export async function openChdbWarehouse(database: string): Promise<ChdbWarehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'spendhouse-chdb-'));
  // chdb's connection ignores the client's `database` option: the session's USE below selects it. Its types
  // come from @clickhouse/client-common 1.23.0, the client's own copy from 1.23.1 (a settings type differs
  // between the two); the Connection contract is the same one.
  const connection = createChdbConnection({ path: dir }) as unknown as ClientConnection;
  const client = createClient({ connection });
  const warehouse = new Warehouse(client, database, null);
  try {
    await warehouse.exec(sql`CREATE DATABASE IF NOT EXISTS ${databaseIdent(database)}`);
    await warehouse.exec(sql`USE ${databaseIdent(database)}`);
    for (const setting of SERVER_LIKE_SETTINGS) await warehouse.exec(setting);
    const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    const [row] = await result.json<{ v: string }>();
    return {
      warehouse,
      version: row?.v ?? 'unknown',
      async close() {
        await client.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
