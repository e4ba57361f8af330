// 10k calls through the real proxy routes (a `mock/` deployment answers in-process, so only our code runs)
// land in spend_logs exactly once, and their rollups reconcile with raw.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { reconcile } from '../src/ingest/reconcile.js';
import { waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const CALLS = 10_000;
const CONCURRENCY = 50;
let t: TestApp;

before(async () => {
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'ingest-mock',
          litellm_params: { model: 'mock/house-model' },
          model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
      ],
    }),
  );
});
after(async () => {
  await t.close();
});

test(`${CALLS} proxied calls land in ClickHouse exactly once`, async () => {
  const from = new Date(Date.now() - 60_000);
  const requestIds = new Set<string>();
  let costNano = 0n;
  for (let i = 0; i < CALLS; i += CONCURRENCY) {
    const calls = Array.from({ length: Math.min(CONCURRENCY, CALLS - i) }, (_, k) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'x-litellm-tags': `run-${(i + k) % 3}` },
        payload: { model: 'ingest-mock', messages: [{ role: 'user', content: `call ${i + k}` }] },
      }),
    );
    for (const res of await Promise.all(calls)) {
      assert.equal(res.statusCode, 200);
      requestIds.add(String(res.headers['x-spend-request-id']));
      costNano += BigInt(Math.round(Number(res.headers['x-spend-response-cost']) * 1e9));
    }
  }
  assert.equal(requestIds.size, CALLS);
  const totals = await waitForRows(t.app.warehouse, CALLS, '', 120_000);
  await waitForQueueIdle(t.app.spendProducer.queue);
  assert.equal(totals.n, CALLS);
  assert.equal(totals.distinct_ids, CALLS);
  // Every call's reported cost (x-spend-response-cost) is stored once: the sums match to the nano-USD.
  const stored = await t.app.warehouse.rows(
    sql`SELECT toString(sum(cost_nano)) AS cost FROM spend_logs`,
    z.object({ cost: z.string() }),
  );
  assert.equal(stored[0]?.cost, costNano.toString());
  const check = await reconcile(t.app.warehouse, from, new Date(Date.now() + 60_000));
  assert.equal(check.ok, true);
});
