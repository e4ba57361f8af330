// Anthropic token counting through the proxy with the real Anthropic SDK (`client.messages.countTokens`):
// forwarded to an Anthropic deployment (same headers as /v1/messages, the provider's answer as is),
// estimated locally for an OpenAI-compatible or mock deployment (labelled `x-spend-token-count: estimate`),
// authenticated and limited to the key's models, refused in Anthropic's error shape on bad input — and
// never billed, recorded, or counted against a key's budget or rate limit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { warmTokenCounter } from '../src/proxy/tokenCountPool.js';
import { countPromptTokens } from '../src/proxy/tokens.js';
import { type ScriptedHarness, startScriptedHarness } from './helpers/scriptedHarness.js';
import type { ScriptedProvider } from './helpers/scriptedProvider.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

let h: ScriptedHarness;
let provider: ScriptedProvider;
before(async () => {
  // Local counts for non-mock deployments run in the token-count worker: exact once it is ready.
  await warmTokenCounter();
  h = await startScriptedHarness();
  provider = h.provider;
});
after(async () => h.close());

const ASK = {
  system: 'You are terse.',
  messages: [{ role: 'user' as const, content: 'How many tokens is this?' }],
  tools: [{ name: 'lookup', description: 'Look up a word', input_schema: { type: 'object' as const, properties: {} } }],
};

async function newKey(limits: Record<string, unknown>): Promise<string> {
  const created = await fetch(`${h.origin}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(limits),
  });
  assert.equal(created.status, 200, await created.clone().text());
  return ((await created.json()) as { key: string }).key;
}

/** The x-spend-request-id of every real call (messages) this file made: only those may have rows. */
const callIds: (string | null | undefined)[] = [];

/** Every real call's row is in ClickHouse, and nothing else is: no count_tokens call wrote one. */
async function assertOnlyCallsRecorded(): Promise<void> {
  const rows = await Promise.all(callIds.map((requestId) => h.stored({ requestId })));
  assert.ok(rows.every((row) => row.call_type === 'messages'));
  assert.equal(await h.storedCount(), callIds.length, 'count_tokens wrote no record');
}

test('Anthropic deployment: forwarded with the deployment key, anthropic-beta and upstream model; answer as is', async () => {
  provider.countTokens = 4321;
  const { data, response } = await h
    .anthropic()
    .messages.countTokens({ model: 'claude', ...ASK }, { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } })
    .withResponse();
  assert.equal(data.input_tokens, 4321);
  assert.equal(response.headers.get('x-spend-token-count'), 'provider');
  const upstream = provider.requests.at(-1);
  assert.equal(upstream?.path, '/v1/messages/count_tokens');
  assert.equal(upstream?.headers['x-api-key'], 'sk-up-anthropic');
  assert.equal(upstream?.headers['anthropic-beta'], 'token-counting-2024-11-01');
  // The SDK's own anthropic-version reaches the provider, as on /v1/messages.
  assert.match(String(upstream?.headers['anthropic-version']), /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(upstream?.body, { model: 'claude-sonnet-4-5', ...ASK });

  provider.answer({ text: 'ok', usage: { input: 10, output: 2 } });
  const { response: call } = await h
    .anthropic()
    .messages.create({ model: 'claude', max_tokens: 10, messages: ASK.messages })
    .withResponse();
  callIds.push(call.headers.get('x-spend-request-id'));
  await assertOnlyCallsRecorded();
});

test('OpenAI-compatible and mock deployments: counted locally, labelled an estimate, nothing sent upstream', async () => {
  const upstreamBefore = provider.requests.length;
  const expected = countPromptTokens('messages', { model: 'gpt', ...ASK });
  for (const model of ['gpt', 'mock-model']) {
    const { data, response } = await h
      .anthropic()
      .messages.countTokens({ model, ...ASK })
      .withResponse();
    assert.equal(data.input_tokens, expected);
    assert.equal(response.headers.get('x-spend-token-count'), 'estimate');
  }
  assert.ok(expected > 10);
  // On a mock deployment the estimate is exactly what the mock then bills as input.
  const { data: mocked, response: mockResponse } = await h
    .anthropic()
    .messages.create({ model: 'mock-model', max_tokens: 10, ...ASK })
    .withResponse();
  assert.equal(mocked.usage.input_tokens, expected);
  callIds.push(mockResponse.headers.get('x-spend-request-id'));
  assert.equal(provider.requests.length, upstreamBefore);
  // Also without the /v1 prefix (LiteLLM serves both).
  const plain = await fetch(`${h.origin}/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': TEST_MASTER_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt', ...ASK }),
  });
  assert.deepEqual(await plain.json(), { input_tokens: expected });
});

test('bad input: 400 naming the field, in Anthropic error shape', async () => {
  const post = (body: unknown, key = TEST_MASTER_KEY) =>
    fetch(`${h.origin}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const cases: [unknown, number, RegExp][] = [
    [{ messages: ASK.messages }, 400, /^model: required/],
    [{ model: 'gpt' }, 400, /^messages: required/],
    [{ model: 'gpt', messages: [{ role: 'system', content: 'x' }] }, 400, /^messages\[0\]\.role:/],
    [{ model: 'gpt', messages: [{ role: 'user', content: 5 }] }, 400, /^messages\[0\]\.content:/],
    [{ model: 'gpt', messages: [], tools: {} }, 400, /^tools:/],
    [{ model: 'nope', messages: [] }, 404, /model nope is not served/],
  ];
  for (const [body, status, message] of cases) {
    const res = await post(body);
    const json = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(res.status, status, JSON.stringify(json));
    assert.equal(json.type, 'error');
    assert.equal(json.error.type, status === 400 ? 'invalid_request_error' : 'not_found_error');
    assert.match(json.error.message, message);
  }
  const notJson = await fetch(`${h.origin}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': TEST_MASTER_KEY, 'content-type': 'application/json' },
    body: '{"model": ',
  });
  assert.equal(notJson.status, 400);
  assert.equal(((await notJson.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  const noKey = await fetch(`${h.origin}/v1/messages/count_tokens`, { method: 'POST', body: '{}' });
  assert.equal(noKey.status, 401);
  assert.deepEqual(
    ((await noKey.json()) as { type: string; error: { type: string } }).error.type,
    'authentication_error',
  );
  const err = await h
    .anthropic()
    .messages.countTokens({ model: 'gpt', messages: undefined as never })
    .catch((e: unknown) => e);
  assert.ok(err instanceof Anthropic.BadRequestError);
  assert.match(err.message, /messages: required/);
});

test('authenticated: an unknown key is 401, a key without the model is 403', async () => {
  const unknown = await h
    .anthropic('sk-not-a-key')
    .messages.countTokens({ model: 'gpt', ...ASK })
    .catch((e: unknown) => e);
  assert.ok(unknown instanceof Anthropic.AuthenticationError);
  const limited = await newKey({ key_alias: 'claude-only', models: ['claude'] });
  const forbidden = await h
    .anthropic(limited)
    .messages.countTokens({ model: 'gpt', ...ASK })
    .catch((e: unknown) => e);
  assert.ok(forbidden instanceof Anthropic.PermissionDeniedError);
  assert.equal((forbidden.error as { error: { type: string } }).error.type, 'permission_error');
});

test('not billed: a key with no budget left and one with rpm 1 can still count, any number of times', async () => {
  const broke = await newKey({ key_alias: 'broke', max_budget: 0 });
  const refused = await h
    .anthropic(broke)
    .messages.create({ model: 'gpt', max_tokens: 10, messages: ASK.messages })
    .catch((e: unknown) => e);
  assert.ok(refused instanceof Anthropic.RateLimitError, 'the budget refuses real calls');
  callIds.push(refused.headers?.get('x-spend-request-id'));
  const counted = await h.anthropic(broke).messages.countTokens({ model: 'gpt', ...ASK });
  assert.ok(counted.input_tokens > 0);

  const slow = await newKey({ key_alias: 'rpm-one', rpm_limit: 1 });
  for (let i = 0; i < 3; i++) await h.anthropic(slow).messages.countTokens({ model: 'claude', ...ASK });
  provider.answer({ text: 'ok', usage: { input: 10, output: 2 } });
  const { response } = await h
    .anthropic(slow)
    .messages.create({ model: 'claude', max_tokens: 10, messages: ASK.messages })
    .withResponse();
  callIds.push(response.headers.get('x-spend-request-id'));
  const second = await h
    .anthropic(slow)
    .messages.create({ model: 'claude', max_tokens: 10, messages: ASK.messages })
    .catch((e: unknown) => e);
  assert.ok(second instanceof Anthropic.RateLimitError, 'the rate limit still counts real calls');
  callIds.push(second.headers?.get('x-spend-request-id'));
  await assertOnlyCallsRecorded();
});
