// The proxy driven by the real OpenAI SDK against the fake upstream: JSON and streaming chat, completions,
// embeddings, models, routing (OpenAI-compatible, Azure, self-hosted, mock) and attribution. Every test
// checks the exact cost in nano-USD and the attribution fields of the call's SpendRecord.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import {
  type ProxyHarness,
  proxyTestModels,
  startProxyHarness,
  TEAM_KEY,
  TEAM_KEY_CONFIG,
} from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const hi = [{ role: 'user' as const, content: 'hi' }];

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({ model_list: proxyTestModels(fake), keys: [TEAM_KEY_CONFIG] }));
});
after(async () => h.close());

const lastUpstream = () => h.fake.requests.at(-1);

test('chat JSON with a team key: response, spend headers, exact cost and attribution in the record', async () => {
  h.fake.setDefaults({ text: 'Hello there.', usage: { promptTokens: 1000, completionTokens: 500 } });
  const params = {
    model: 'house-gpt',
    messages: hi,
    user: 'customer-42',
    tags: ['feature:search', 'env:prod'],
    metadata: { trace_id: 'abc', tags: ['env:prod', 'from-metadata'] },
  } as unknown as ChatCompletionCreateParamsNonStreaming;
  const { data, response } = await h
    .openai(TEAM_KEY)
    .chat.completions.create(params, { headers: { 'x-spend-tags': 'hdr-a, hdr-b', 'x-litellm-tags': 'hdr-c' } })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'Hello there.');
  assert.equal(data.usage?.total_tokens, 1500);
  const requestId = response.headers.get('x-spend-request-id');
  assert.match(requestId ?? '', UUID_V7);
  assert.equal(response.headers.get('x-litellm-call-id'), requestId);
  assert.equal(response.headers.get('x-spend-response-cost'), '0.002000000');
  assert.equal(response.headers.get('x-litellm-response-cost'), '0.002000000');
  assert.ok(Number(response.headers.get('x-spend-overhead-ms')) >= 0);

  const record = await h.record(requestId);
  assert.equal(record.cost_nano, 2_000_000);
  assert.equal(record.cost_status, 'custom');
  assert.deepEqual(
    [record.prompt_tokens, record.completion_tokens, record.total_tokens, record.usage_estimated],
    [1000, 500, 1500, false],
  );
  assert.deepEqual(
    [record.key_alias, record.user_id, record.team_id, record.customer_id],
    ['team-a-key', 'user-1', 'team-a', 'customer-42'],
  );
  assert.deepEqual(record.tags, ['env:prod', 'feature:search', 'from-metadata', 'hdr-a', 'hdr-b', 'hdr-c', 'team:a']);
  assert.deepEqual(record.metadata, { trace_id: 'abc' });
  assert.deepEqual(
    [record.model, record.upstream_model, record.provider, record.call_type, record.status, record.stream],
    ['house-gpt', 'house-model', 'openai', 'chat', 200, false],
  );
  assert.equal(record.response_id, data.id);
  assert.equal(record.ttft_ms, null);

  // The provider got the deployment's key and model, and none of our attribution fields.
  const upstream = lastUpstream();
  assert.equal(upstream?.headers.authorization, 'Bearer sk-upstream-openai');
  assert.equal(upstream?.body?.model, 'house-model');
  assert.equal(upstream?.body?.tags, undefined);
  assert.equal(upstream?.body?.metadata, undefined);
  assert.equal(upstream?.body?.user, 'customer-42');
});

test('streaming chat relays chunks, asks upstream for usage and records the final usage chunk', async () => {
  h.fake.setDefaults({ text: 'One two three four.', usage: { promptTokens: 1000, completionTokens: 500 } });
  const client = h.openai(TEAM_KEY);
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'house-gpt', messages: hi, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let text = '';
  let usageTotal = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usageTotal = chunk.usage.total_tokens;
  }
  assert.equal(text, 'One two three four.');
  assert.equal(usageTotal, 1500);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, 2_000_000);
  assert.equal(record.stream, true);
  assert.equal(record.usage_estimated, false);
  assert.ok(record.ttft_ms !== null && record.ttft_ms >= 0);

  // A client that did not ask for usage gets no usage-only chunk, but the proxy still asked upstream.
  const { data: quiet, response: quietResponse } = await client.chat.completions
    .create({ model: 'house-gpt', messages: hi, stream: true })
    .withResponse();
  for await (const chunk of quiet) assert.equal(chunk.usage ?? null, null);
  assert.deepEqual(lastUpstream()?.body?.stream_options, { include_usage: true });
  const quietRecord = await h.record(quietResponse.headers.get('x-spend-request-id'));
  assert.equal(quietRecord.cost_nano, 2_000_000);
  assert.equal(quietRecord.usage_estimated, false);
});

test('gpt-4o is priced from genai-prices with cached and reasoning tokens kept apart', async () => {
  // genai-prices 0.1.8, openai/gpt-4o: input 2.5, cached input 1.25, output 10 USD per million tokens.
  h.fake.setDefaults({ usage: { promptTokens: 1000, cachedTokens: 200, completionTokens: 500, reasoningTokens: 100 } });
  const { response } = await h.openai().chat.completions.create({ model: 'gpt-4o', messages: hi }).withResponse();
  const record = await h.record(response.headers.get('x-spend-request-id'));
  // 800 × 2.5e-6 + 200 × 1.25e-6 + 500 × 10e-6 (reasoning at the output price) = 0.00725 USD.
  assert.equal(record.cost_nano, 7_250_000);
  assert.equal(record.cost_status, 'priced');
  assert.deepEqual([record.cached_tokens, record.reasoning_tokens, record.cache_write_tokens], [200, 100, 0]);
  assert.equal(response.headers.get('x-spend-response-cost'), '0.007250000');
  assert.equal(record.key_alias, 'master');
});

test('legacy completions, JSON and streamed', async () => {
  h.fake.setDefaults({ text: 'completed text', usage: { promptTokens: 20, completionTokens: 10 } });
  const client = h.openai();
  const { data, response } = await client.completions.create({ model: 'house-gpt', prompt: 'Say' }).withResponse();
  assert.equal(data.choices[0]?.text, 'completed text');
  assert.equal(lastUpstream()?.path, '/v1/completions');
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.call_type, 'completion');
  assert.equal(record.cost_nano, 20 * 1000 + 10 * 2000);

  const { data: stream, response: streamed } = await client.completions
    .create({ model: 'house-gpt', prompt: 'Say', stream: true })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, 'completed text');
  const streamRecord = await h.record(streamed.headers.get('x-spend-request-id'));
  assert.equal(streamRecord.cost_nano, 40_000);
  assert.equal(streamRecord.stream, true);
});

test('embeddings (the SDK asks for base64) priced per input token', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 30 } });
  const { data, response } = await h
    .openai(TEAM_KEY)
    .embeddings.create({ model: 'house-embed', input: ['first', 'second'], dimensions: 8 })
    .withResponse();
  assert.equal(data.data.length, 2);
  assert.equal(data.data[1]?.embedding.length, 8);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  // 30 × 0.0000001 USD (1e-7 in YAML) = 3000 nano-USD.
  assert.equal(record.cost_nano, 3000);
  assert.deepEqual([record.call_type, record.prompt_tokens, record.completion_tokens], ['embedding', 30, 0]);
});

test('GET /v1/models lists only the models the key may use', async () => {
  const all = await h.openai().models.list();
  assert.ok(all.data.map((m) => m.id).includes('claude-3-5-sonnet'));
  const team = await h.openai(TEAM_KEY).models.list();
  assert.deepEqual(team.data.map((m) => m.id).sort(), ['gpt-4o', 'house-embed', 'house-gpt']);
  await assert.rejects(h.openai(TEAM_KEY).chat.completions.create({ model: 'claude-3-5-sonnet', messages: hi }), {
    status: 403,
  });
});

test('routes without /v1, customer headers win over body user', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 10, completionTokens: 5 } });
  const res = await fetch(`${h.origin}/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TEST_MASTER_KEY}`,
      'content-type': 'application/json',
      'x-litellm-end-user-id': 'end-user-7',
    },
    body: JSON.stringify({ model: 'house-gpt', messages: hi, user: 'body-user' }),
  });
  assert.equal(res.status, 200);
  const record = await h.record(res.headers.get('x-spend-request-id'));
  assert.equal(record.customer_id, 'end-user-7');
  assert.equal(record.cost_nano, 10 * 1000 + 5 * 2000);
  assert.equal(
    (await fetch(`${h.origin}/models`, { headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } })).status,
    200,
  );
});

test('Azure deployments use the deployment URL, api-version and api-key header', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 100, completionTokens: 50 } });
  const { response } = await h.openai().chat.completions.create({ model: 'house-azure', messages: hi }).withResponse();
  const upstream = lastUpstream();
  assert.equal(upstream?.path, '/openai/deployments/house-deploy/chat/completions');
  assert.equal(upstream?.headers['api-key'], 'sk-azure');
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual([record.provider, record.upstream_model, record.cost_nano], ['azure', 'house-deploy', 200_000]);
});

test('a model without any price is recorded with its tokens, cost 0 and cost_status unpriced', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 100, completionTokens: 50 } });
  const { response } = await h.openai().chat.completions.create({ model: 'self-hosted', messages: hi }).withResponse();
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [record.provider, record.total_tokens, record.cost_nano, record.cost_status],
    ['hosted_vllm', 150, 0, 'unpriced'],
  );
  assert.equal(response.headers.get('x-spend-response-cost'), '0.000000000');
});

test('mock provider and mock_response answer in-process, priced like any call', async () => {
  const before = h.fake.requests.length;
  const { data, response } = await h
    .openai()
    .chat.completions.create({ model: 'mock-demo', messages: hi })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'This is a mock reply from Spendhouse.');
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.provider, 'mock');
  assert.equal(record.cost_nano, record.prompt_tokens * 1000 + record.completion_tokens * 2000);
  assert.ok(record.completion_tokens > 0);

  const mocked = await h
    .openai()
    .chat.completions.create({
      model: 'house-gpt',
      messages: hi,
      mock_response: 'canned',
    } as ChatCompletionCreateParamsNonStreaming)
    .withResponse();
  assert.equal(mocked.data.choices[0]?.message.content, 'canned');
  const mockedRecord = await h.record(mocked.response.headers.get('x-spend-request-id'));
  assert.equal(mockedRecord.provider, 'mock');
  assert.equal(h.fake.requests.length, before, 'no request reached the upstream');

  const stream = await h.openai().chat.completions.create({ model: 'mock-demo', messages: hi, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  assert.equal(text, 'This is a mock reply from Spendhouse.');
});
