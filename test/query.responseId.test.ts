// LiteLLM's look-up by the provider's id: a call made through the proxy with the real OpenAI SDK (the fake
// upstream answers `chatcmpl-…`) is found by /spend/logs?request_id=<that id> as well as by Spendhouse's own
// request_id, through the spend_response_index table (migration 055); unknown ids and other keys' calls
// give [].
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { type FakeUpstream, startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { HOUSE_PRICES, TEAM_KEY, TEAM_KEY_CONFIG } from './helpers/fakeUpstreamProxy.js';
import { waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const OTHER_TEAM_KEY = 'sk-team-b-key-0002';
let fake: FakeUpstream;
let t: TestApp;
let origin: string;

before(async () => {
  fake = await startFakeUpstream();
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'house-gpt',
          litellm_params: { model: 'openai/house-model', api_base: `${fake.url}/v1`, api_key: 'sk-upstream' },
          model_info: HOUSE_PRICES,
        },
      ],
      keys: [TEAM_KEY_CONFIG, { key: OTHER_TEAM_KEY, key_alias: 'team-b-key', team_id: 'team-b' }],
    }),
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await t?.close();
  await fake?.close();
});

async function get(url: string, key = TEST_MASTER_KEY) {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

test('a proxied call is found by its provider id (chatcmpl-…) and by its request id, in its scope only', async () => {
  fake.setDefaults({ text: 'Found me.', usage: { promptTokens: 1000, completionTokens: 500 } });
  const client = new OpenAI({ baseURL: `${origin}/v1`, apiKey: TEAM_KEY, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({ model: 'house-gpt', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'Found me.');
  assert.match(data.id, /^chatcmpl-/);
  const requestId = response.headers.get('x-spend-request-id') ?? '';
  assert.equal((await waitForRows(t.app.warehouse, 1)).n, 1);
  await waitForQueueIdle(t.app.spendProducer.queue);

  const byProviderId = await get(`/spend/logs?request_id=${encodeURIComponent(data.id)}`, TEAM_KEY);
  assert.equal(byProviderId.length, 1);
  const [call] = byProviderId;
  assert.deepEqual(
    [call.request_id, call.response_id, call.cost_nano, call.cost_usd, call.spend, call.team_id, call.key_alias],
    [requestId, data.id, 2_000_000, '0.002000000', 0.002, 'team-a', 'team-a-key'],
  );
  assert.deepEqual([call.prompt_tokens, call.completion_tokens, call.status], [1000, 500, 'success']);
  // Spendhouse's own id finds the same call; so does the master key.
  assert.deepEqual(await get(`/spend/logs?request_id=${requestId}`, TEAM_KEY), byProviderId);
  assert.deepEqual(await get(`/spend/logs?request_id=${encodeURIComponent(data.id)}`), byProviderId);
  // The detail route and the v2 list's filter take the provider id too.
  assert.equal((await get(`/spend/logs/v2/${encodeURIComponent(data.id)}`, TEAM_KEY)).request_id, requestId);
  const day = new Date().toISOString().slice(0, 10);
  const listed = await get(`/spend/logs/v2?request_id=${encodeURIComponent(data.id)}&start_date=${day}`);
  assert.deepEqual(
    listed.data.map((r: { request_id: string }) => r.request_id),
    [requestId],
  );
  assert.equal(listed.total, 1);
  const dated = await get(
    `/spend/logs?request_id=${encodeURIComponent(data.id)}&start_date=${day}&end_date=${day}&summarize=false`,
  );
  assert.deepEqual(
    dated.map((r: { request_id: string }) => r.request_id),
    [requestId],
  );

  // Unknown ids and another team's key: nothing, and no 404.
  assert.deepEqual(await get('/spend/logs?request_id=chatcmpl-unknown'), []);
  assert.deepEqual(await get(`/spend/logs?request_id=${encodeURIComponent(data.id)}`, OTHER_TEAM_KEY), []);
  assert.deepEqual(await get(`/spend/logs?request_id=${requestId}`, OTHER_TEAM_KEY), []);
  const hidden = await t.app.inject({
    method: 'GET',
    url: `/spend/logs/v2/${encodeURIComponent(data.id)}`,
    headers: { authorization: `Bearer ${OTHER_TEAM_KEY}` },
  });
  assert.equal(hidden.statusCode, 404);
});

test('the provider id index holds one row per call that has a provider id', async () => {
  const rows = await t.app.warehouse.rows(
    sql`SELECT response_id, request_id FROM spend_response_index FINAL`,
    z.object({ response_id: z.string(), request_id: z.string() }),
  );
  const logged = await t.app.warehouse.rows(
    sql`SELECT response_id, request_id FROM spend_logs WHERE response_id != ''`,
    z.object({ response_id: z.string(), request_id: z.string() }),
  );
  assert.ok(logged.length >= 1);
  assert.deepEqual(rows, logged);
});
