// The two warehouses the conformance suite compares: ClickHouse 18.16 (the test server, CLICKHOUSE_URL) and
// a current ClickHouse in this process (chdb), each a fresh database, each with the app's query API mounted
// on a small fastify instance so the matrix asks both the very same HTTP questions.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Principal } from '../../src/auth/principal.js';
import { createWarehouse, ensureDatabase } from '../../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../../src/clickhouse/sql.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';
import type { AppConfig } from '../../src/config/load.js';
import { registerErrorHandler } from '../../src/http/errorHandler.js';
import queryPlugin from '../../src/query/plugin.js';
import { type ChdbWarehouse, openChdbWarehouse } from '../helpers/chdbWarehouse.js';
import { testConfig } from '../helpers/testApp.js';

export interface Side {
  name: string;
  warehouse: Warehouse;
  /** The query API (src/query/plugin.ts) over this warehouse; the caller is chosen per request (callerHeader). */
  app: FastifyInstance;
}

/** Who asks: every request names its caller in this header, `all`, `team:<id>` or `key:<hash>`. */
export const CALLER_HEADER = 'x-conformance-caller';

function principalFor(caller: string): Principal {
  const base: Principal = {
    kind: 'master',
    isAdmin: true,
    spendVisibility: 'all',
    permissions: [],
    keyHash: '',
    keyAlias: null,
    userId: null,
    teamId: null,
    models: [],
    tags: [],
    metadata: {},
  };
  if (caller.startsWith('team:')) {
    return { ...base, kind: 'key', isAdmin: false, spendVisibility: 'team', teamId: caller.slice(5), keyHash: 'k' };
  }
  if (caller.startsWith('key:'))
    return { ...base, kind: 'key', isAdmin: false, spendVisibility: 'key', keyHash: caller.slice(4) };
  return base;
}

async function queryApp(warehouse: Warehouse): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.decorate('warehouse', warehouse);
  // Authentication is not what is compared: the caller is taken from a header (scopes are, through scopeFor).
  app.decorate('authenticate', async (request) => {
    const caller = request.headers[CALLER_HEADER];
    return principalFor(decodeURIComponent(typeof caller === 'string' ? caller : 'all'));
  });
  registerErrorHandler(app);
  await app.register(queryPlugin);
  await app.ready();
  return app;
}

export interface ServerPair {
  old: Side;
  current: Side & { version: string };
  config: AppConfig;
  close(): Promise<void>;
}

export async function openServerPair(): Promise<ServerPair> {
  const config = testConfig();
  await ensureDatabase(config.clickhouse);
  const oldWarehouse = createWarehouse(config.clickhouse);
  let chdb: ChdbWarehouse | null = null;
  const apps: FastifyInstance[] = [];
  const close = async () => {
    await Promise.all(apps.map((a) => a.close()));
    await oldWarehouse.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(config.clickhouse.database)}`);
    await oldWarehouse.client.close();
    await chdb?.close();
  };
  try {
    chdb = await openChdbWarehouse(config.clickhouse.database);
    const oldApp = await queryApp(oldWarehouse);
    apps.push(oldApp);
    const currentApp = await queryApp(chdb.warehouse);
    apps.push(currentApp);
    return {
      old: { name: 'ClickHouse 18.16', warehouse: oldWarehouse, app: oldApp },
      current: {
        name: `ClickHouse ${chdb.version} (chdb)`,
        warehouse: chdb.warehouse,
        app: currentApp,
        version: chdb.version,
      },
      config,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
