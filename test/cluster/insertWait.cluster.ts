// The worker's "wait until the failed insert is no longer running" looks at system.processes on its entry
// node only (src/ingest/writer.ts, waitForQueries). On a cluster the rows travel on: a synchronous
// Distributed insert (insert_distributed_sync = 1, clusterClientSettings) sends each shard its part as a
// sub-insert on another node — on 18.16 as a query of its own, with a random query_id and no link back
// (initial_query_id is its own id), so no node could be asked about it by id. The wait is still enough if
// the initiating insert stays in the entry node's system.processes until every sub-insert has returned.
// This checks exactly that on the real 2 × 2 cluster: polling the entry node first and shard 2 right after,
// an insert into this database's spend_logs_local is never seen running on shard 2 once the initiator was
// already gone (docs/scaling.md, "Exactly once on a cluster"). The order matters: polled the other way
// round, both can finish between the two polls, which is no violation.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sql } from '../../src/clickhouse/sql.js';
import type { Warehouse } from '../../src/clickhouse/warehouse.js';
import type { AppConfig } from '../../src/config/load.js';
import { clusterConfig, dropClusterState, nodeWarehouse, onNode, startInstance } from './fixture.js';

const ROWS = 2_000_000;
const running = z.object({ n: z.coerce.number() });

describe('a synchronous Distributed insert outlives its sub-inserts on the entry node', () => {
  let config: AppConfig;
  let app: FastifyInstance;
  const others: Warehouse[] = [];

  before(async () => {
    config = clusterConfig();
    app = await startInstance(onNode(config, 0, 'proxy'));
    // Shard 2's replicas: whichever one the sub-inserts go to.
    others.push(nodeWarehouse(config, 2), nodeWarehouse(config, 3));
  });
  after(async () => {
    for (const w of others) await w.client.close();
    await app?.close();
    await dropClusterState(config);
  });

  test(`${ROWS} generated rows through node 1: no sub-insert runs after its initiator`, async () => {
    const queryId = randomUUID();
    const insert = app.warehouse.client.command({
      query: sql`INSERT INTO spend_logs (request_id, start_time, start_time_ms, team_id, model, cost_nano)
        SELECT concat('wait-', toString(number)), toDateTime(1790000000 + number % 86400),
          (1790000000 + number % 86400) * 1000, 'team', 'model', 1000
        FROM numbers(${ROWS})`.text,
      query_id: queryId,
    });
    let done = false;
    void insert.finally(() => {
      done = true;
    });
    let subInsertsSeen = 0;
    const violations: string[] = [];
    while (!done) {
      const entry =
        (
          await app.warehouse.rows(sql`SELECT count() AS n FROM system.processes WHERE query_id = ${queryId}`, running)
        )[0]?.n ?? 0;
      const remote = await Promise.all(
        others.map(
          async (w) =>
            (
              await w.rows(
                sql`SELECT count() AS n FROM system.processes
                    WHERE startsWith(query, ${`INSERT INTO ${config.clickhouse.database}.spend_logs_local`})`,
                running,
              )
            )[0]?.n ?? 0,
        ),
      );
      const remoteRunning = remote.reduce((a, b) => a + b, 0);
      if (remoteRunning > 0) subInsertsSeen++;
      if (remoteRunning > 0 && entry === 0) violations.push(`${new Date().toISOString()} remote ${remote}`);
    }
    await insert;
    assert.ok(subInsertsSeen > 0, 'the sub-insert on shard 2 was seen running');
    assert.deepEqual(violations, []);
  });
});
