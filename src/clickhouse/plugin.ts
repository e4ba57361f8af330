// Fastify plugin owning the ClickHouse client: creates the configured database if needed, decorates
// `app.warehouse`, closes the client on shutdown.
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { clusterClientSettings } from '../cluster/shardingKeys.js';
import type { AppConfig } from '../config/load.js';
import { databaseIdent, sql } from './sql.js';
import { Warehouse } from './warehouse.js';

declare module 'fastify' {
  interface FastifyInstance {
    warehouse: Warehouse;
  }
}

export function createWarehouse(config: AppConfig['clickhouse'], database = config.database): Warehouse {
  const client = createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    database,
    request_timeout: 60_000,
    max_open_connections: 20,
    clickhouse_settings: clusterClientSettings(config.cluster),
    // Failures surface as thrown errors that we handle (retry, readiness, 5xx); the client's own
    // error log would print each one a second time.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return new Warehouse(client, database, config.cluster);
}

/** Creates the database through a client bound to `default` (a client bound to a missing db cannot). */
export async function ensureDatabase(config: AppConfig['clickhouse']): Promise<void> {
  const admin = createWarehouse(config, 'default');
  try {
    const onCluster = config.cluster ? sql` ON CLUSTER ${databaseIdent(config.cluster)}` : sql``;
    await admin.exec(sql`CREATE DATABASE IF NOT EXISTS ${databaseIdent(config.database)}${onCluster}`);
  } finally {
    await admin.client.close();
  }
}

async function clickhousePlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  await ensureDatabase(opts.config.clickhouse);
  const warehouse = createWarehouse(opts.config.clickhouse);
  app.decorate('warehouse', warehouse);
  app.addHook('onClose', async () => {
    await warehouse.client.close();
  });
}

export default fp(clickhousePlugin, { name: 'clickhouse' });
