// The seed's flow on the cluster with two proxy instances (each on its own ClickHouse node) and a worker:
// team, user alice with $50, key; 60 concurrent clients on both proxies call until refused. The budget holds
// exactly across instances (Redis ledger), every admitted call lands in the Distributed table once with the
// cost the ledger counted, and a key blocked on one proxy is refused by the other. Once per Redis shape:
// one server, a Sentinel-watched primary, a Redis Cluster.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sql } from '../../src/clickhouse/sql.js';
import type { AppConfig } from '../../src/config/load.js';
import { curlPost } from '../budgetCalls.js';
import { waitForQueueIdle } from '../helpers/ingestRecords.js';
import { clusterConfig, dropClusterState, onNode, redisTargets, startInstance } from './fixture.js';

const CLIENTS = 60;

for (const [redisName, redisUrl] of redisTargets()) describeBudgets(redisName, redisUrl);

function describeBudgets(redisName: string, redisUrl: string): void {
  describe(`budgets across two proxies on the cluster (Redis: ${redisName})`, () => {
    let config: AppConfig;
    const proxies: FastifyInstance[] = [];
    let worker: FastifyInstance;

    before(async () => {
      config = clusterConfig(
        {
          model_list: [
            {
              model_name: 'gpt-4o',
              litellm_params: { model: 'mock/gpt-4o' },
              // Expensive on purpose: $50 goes in a few dozen calls.
              model_info: { input_cost_per_token: 0.05, output_cost_per_token: 0.1 },
            },
          ],
        },
        redisUrl,
      );
      proxies.push(await startInstance(onNode(config, 0, 'proxy')));
      proxies.push(await startInstance(onNode(config, 3, 'proxy')));
      worker = await startInstance(onNode(config, 1, 'worker'));
    });
    after(async () => {
      for (const app of [...proxies, worker]) await app?.close();
      await dropClusterState(config);
    });

    test('alice’s $50 holds under concurrency on both proxies; ClickHouse records what the ledger counted', async () => {
      const [p1, p2] = proxies as [FastifyInstance, FastifyInstance];
      const team = await curlPost(p1, '/team/new', { team_alias: 'frontend-team', max_budget: 1000 });
      const user = await curlPost(p1, '/user/new', {
        user_email: 'alice@acme.com',
        team_id: team.body.team_id,
        max_budget: 50,
      });
      const key = await curlPost(p1, '/key/generate', { user_id: user.body.user_id });
      const secret = String(key.body.key);
      assert.match(secret, /^sk-/, JSON.stringify(key.body));

      let admitted = 0;
      let admittedCost = 0n;
      async function client(i: number): Promise<void> {
        const app = i % 2 ? p2 : p1;
        for (;;) {
          const res = await app.inject({
            method: 'POST',
            url: '/v1/chat/completions',
            headers: { authorization: `Bearer ${secret}` },
            // max_tokens above the mock's reply length: the reservation covers the real cost (docs/budgets.md).
            payload: { model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: `hi ${i}` }] },
          });
          if (res.statusCode === 429) {
            assert.equal(res.json().error.code, 'budget_exceeded');
            return;
          }
          assert.equal(res.statusCode, 200, res.body);
          admitted++;
          admittedCost += BigInt(Math.round(Number(res.headers['x-spend-response-cost']) * 1e9));
        }
      }
      await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
      assert.ok(admitted > 10, `${admitted} calls admitted`);
      assert.ok(admittedCost <= 50_000_000_000n, `overspent: ${admittedCost} nano-USD`);

      // The records are in the spend journal: move all of it into the queue, then wait for the queue.
      for (const p of proxies) await p.spendSink.flush();
      for (const p of proxies) await waitForQueueIdle(p.spendProducer.queue, 120_000);
      const stored = await p2.warehouse.rows(
        sql`SELECT count() AS n, toString(sum(cost_nano)) AS cost FROM spend_logs WHERE user_id = ${String(user.body.user_id)} AND status = 200`,
        z.object({ n: z.coerce.number(), cost: z.string() }),
      );
      assert.deepEqual(stored[0], { n: admitted, cost: admittedCost.toString() });
    });

    test('a key blocked through one proxy is refused by the other', async () => {
      const [p1, p2] = proxies as [FastifyInstance, FastifyInstance];
      const key = await curlPost(p1, '/key/generate', {});
      const secret = String(key.body.key);
      const call = (app: FastifyInstance) =>
        app.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${secret}` },
          payload: { model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] },
        });
      const first = await call(p2);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal((await curlPost(p1, '/key/block', { key: secret })).status, 200);
      const deadline = Date.now() + 10_000;
      let status = (await call(p2)).statusCode;
      while (status !== 401 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await call(p2)).statusCode;
      }
      assert.equal(status, 401);
    });
  });
}
