// The Batch API split across roles, as deployed at scale: a `proxy` process creates the batch (reserving
// its worst case) and is then shut down; a `worker` process — which has no budgets plugin of its own —
// polls it from the state in ClickHouse, writes its records and settles the creating key's budget.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { ledgerBudgets } from '../src/budgets/ledger.js';
import { resolveScopes } from '../src/budgets/scopes.js';
import type { AppConfig } from '../src/config/load.js';
import { callContext, curlPost, principalFor } from './budgetCalls.js';
import { type FakeOpenAIBatches, startFakeOpenAIBatches } from './helpers/fakeOpenAIBatches.js';
import { spendTotals, waitForQueueIdle } from './helpers/ingestRecords.js';
import { dropTestState, startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

let fake: FakeOpenAIBatches;
let config: AppConfig;
const apps: TestApp[] = [];

before(async () => {
  fake = await startFakeOpenAIBatches();
  config = testConfig({
    model_list: [
      {
        model_name: 'gpt-4o-mini',
        litellm_params: { model: 'openai/gpt-4o-mini', api_base: fake.apiBase, api_key: fake.apiKey },
        model_info: { input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006 },
      },
    ],
  });
});
after(async () => {
  for (const app of apps) await app.app.close();
  await dropTestState(config);
  await fake.close();
});

async function start(role: AppConfig['role']): Promise<TestApp> {
  const app = await startTestApp({ ...config, role });
  apps.push(app);
  return app;
}

test('a proxy creates the batch and stops; a worker settles it from ClickHouse alone', async () => {
  const proxy = await start('proxy');
  const key = await curlPost(proxy.app, '/key/generate', { key_alias: 'split', max_budget: 5 });
  const secret = String(key.body.key);
  await proxy.app.listen({ port: 0, host: '127.0.0.1' });
  const client = new OpenAI({
    apiKey: secret,
    baseURL: `http://127.0.0.1:${(proxy.app.server.address() as AddressInfo).port}/v1`,
    maxRetries: 0,
  });
  const line = (id: string) => ({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
  });
  const content = `${[line('1'), line('2')].map((l) => JSON.stringify(l)).join('\n')}\n`;
  const file = await client.files.create({ file: await toFile(Buffer.from(content), 'in.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  const principal = await principalFor(proxy.app, secret);
  const scopes = await resolveScopes(
    callContext(principal, { model: 'gpt-4o-mini', maxCostNano: 0, costNano: 0 }),
    proxy.app.controlPlane.cache,
    config.budgetTimezone,
  );
  const [counter] = ledgerBudgets(scopes.budgets.filter((s) => s.kind === 'key'));
  assert.ok(counter);
  assert.ok((await proxy.app.budgetLedger.read(counter.key)).reserved > 0);
  await proxy.app.close();
  apps.splice(apps.indexOf(proxy), 1);

  // 100 prompt + 20 completion tokens at half price: 100 × $0.075/M + 20 × $0.30/M = $0.0000135 = 13,500 nano.
  fake.finish(batch.id, () => ({ usage: { prompt_tokens: 100, completion_tokens: 20 } }));
  const worker = await start('worker');
  assert.equal(worker.app.hasDecorator('budgetCharger'), false, 'a worker has no budgets plugin');
  assert.deepEqual((await worker.app.batchPoller.pollOnce())?.settled, [batch.id]);
  await waitForQueueIdle(worker.app.spendProducer.queue);
  const totals = await spendTotals(worker.app.warehouse, `${batch.id}:`);
  assert.deepEqual(totals, { n: 2, distinct_ids: 2, cost: 27_000 });
  const settled = await worker.app.redis.hmget(counter.key, 'spent', 'reserved');
  assert.deepEqual(settled.map(Number), [27_000, 0]);
});
