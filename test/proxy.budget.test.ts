// The seed's promise end to end through the real proxy routes: a virtual key made by the management API
// (tags and team attribution from the key), a hard budget enforced before forwarding with the worst case
// the proxy priced, and the refusal recorded — with the OpenAI SDK against the fake upstream.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APIError } from 'openai';
import { HOUSE_PRICES, type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: `${fake}/v1` },
        model_info: HOUSE_PRICES,
      },
    ],
  }));
});
after(async () => h.close());

test('a virtual key with max_budget $0.003: first call (actual $0.002) passes, the next is refused before forwarding', async () => {
  const created = await fetch(`${h.origin}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key_alias: 'budgeted', max_budget: 0.003, tags: ['app:web'] }),
  });
  assert.equal(created.status, 200, await created.clone().text());
  const { key } = (await created.json()) as { key: string };

  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  const client = h.openai(key);
  const messages = [{ role: 'user' as const, content: 'hi' }];
  // Worst case priced by the proxy: ~8 prompt tokens × $0.000001 + 500 × $0.000002 ≈ $0.001 ≤ $0.003.
  const { response } = await client.chat.completions
    .create({ model: 'house-gpt', messages, max_tokens: 500 })
    .withResponse();
  const first = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual([first.cost_nano, first.key_alias, first.tags], [2_000_000, 'budgeted', ['app:web']]);

  // Spent $0.002 + worst case ≈ $0.001 > $0.003: refused, not forwarded, recorded.
  const upstreamBefore = h.fake.requests.length;
  const err = await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 500 }).then(
    () => assert.fail('over budget'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof APIError);
  assert.equal(err.status, 429);
  assert.match(err.message, /Budget exceeded/);
  assert.equal(h.fake.requests.length, upstreamBefore);
  const refused = await h.record(err.headers?.get('x-spend-request-id'));
  assert.deepEqual(
    [refused.status, refused.error_type, refused.cost_nano, refused.key_alias],
    [429, 'budget_exceeded', 0, 'budgeted'],
  );
});
