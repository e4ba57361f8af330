// Guardrails and tag policies through the real proxy routes and the fake upstream: masked text is what the
// provider receives and what the Logs tab stores, blocks are 400 content_blocked without echoing the
// match and never forwarded, scoped rules apply to their team only, and a tag policy refuses the forbidden
// provider (403 policy_violation, recorded) while other providers still serve the same tags.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APIError } from 'openai';
import { HOUSE_PRICES, type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const FINANCE_KEY = 'sk-finance-key-000001';

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({
    general_settings: { store_prompts_in_spend_logs: true },
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        model_info: HOUSE_PRICES,
      },
      {
        model_name: 'house-embed',
        litellm_params: { model: 'openai/house-embed', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        model_info: { mode: 'embedding', input_cost_per_token: 0.0000001 },
      },
      {
        model_name: 'claude',
        litellm_params: { model: 'anthropic/claude-3-5-sonnet-20241022', api_base: fake, api_key: 'sk-upstream' },
      },
    ],
    keys: [{ key: FINANCE_KEY, key_alias: 'finance-key', team_id: 'finance' }],
    guardrails: {
      rules: [
        { patterns: ['email', 'phone'], action: 'mask' },
        { patterns: ['us_ssn', 'credit_card'], action: 'block' },
        { patterns: ['ipv4'], action: 'block', teams: ['finance'] },
      ],
    },
    tag_policies: [
      { name: 'pii-stays-off-openai', tags: ['data:pii'], deny_providers: ['openai'] },
      { name: 'eu-claude-only', tags: ['region:eu'], allow_models: ['claude'] },
    ],
  }));
});
after(async () => h.close());

const lastUpstreamBody = () => h.fake.requests.at(-1)?.body as Record<string, unknown>;

test('mask: the provider receives masked text; the record notes it and stores masked prompt and response', async () => {
  h.fake.setDefaults({ text: 'I will email bob@corp.example back.' });
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'house-gpt',
      messages: [
        { role: 'system', content: 'Support desk.' },
        { role: 'user', content: [{ type: 'text', text: 'I am jane@acme.io, phone 415-555-0132.' }] },
      ],
    })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'I will email bob@corp.example back.');
  assert.deepEqual(lastUpstreamBody().messages, [
    { role: 'system', content: 'Support desk.' },
    { role: 'user', content: [{ type: 'text', text: 'I am [EMAIL_REDACTED], phone [PHONE_REDACTED].' }] },
  ]);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.status, 200);
  assert.equal(record.metadata.guardrail, 'email:mask,phone:mask');
  assert.ok(record.messages?.includes('I am [EMAIL_REDACTED], phone [PHONE_REDACTED].'));
  assert.ok(!record.messages?.includes('jane@acme.io'));
  assert.equal(record.response, 'I will email [EMAIL_REDACTED] back.');
  h.fake.setDefaults({ text: 'ok' });
});

test('mask: Anthropic messages (system and content blocks) and embedding inputs', async () => {
  await h.anthropic().messages.create({
    model: 'claude',
    max_tokens: 50,
    system: [{ type: 'text', text: 'Reply to ops@acme.io' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'call +44 20 7946 0958' }] }],
  });
  const upstream = lastUpstreamBody();
  assert.deepEqual(upstream.system, [{ type: 'text', text: 'Reply to [EMAIL_REDACTED]' }]);
  assert.deepEqual(upstream.messages, [{ role: 'user', content: [{ type: 'text', text: 'call [PHONE_REDACTED]' }] }]);

  await h.openai().embeddings.create({ model: 'house-embed', input: ['plain', 'mail a@b.io'] });
  assert.deepEqual(lastUpstreamBody().input, ['plain', 'mail [EMAIL_REDACTED]']);
});

async function refused(call: Promise<unknown>): Promise<APIError> {
  const err = await call.then(
    () => assert.fail('the call should be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof APIError);
  return err;
}

test('block: 400 content_blocked naming the pattern, never the match; nothing forwarded; recorded', async () => {
  const forwarded = h.fake.requests.length;
  const err = await refused(
    h.openai().chat.completions.create({
      model: 'house-gpt',
      messages: [{ role: 'user', content: 'my SSN is 123-45-6789' }],
    }),
  );
  assert.equal(err.status, 400);
  assert.equal((err.error as { type?: string }).type, 'content_blocked');
  assert.match(err.message, /matches us_ssn/);
  assert.ok(!JSON.stringify(err.error).includes('123-45-6789'));
  assert.equal(h.fake.requests.length, forwarded);
  const record = await h.record(err.headers?.get('x-spend-request-id'));
  assert.deepEqual(
    [record.status, record.error_type, record.metadata.guardrail, record.messages ?? null, record.cost_nano],
    [400, 'content_blocked', 'us_ssn:block', null, 0],
  );
});

test('scoped rule: the finance team may not send IP addresses; others may, unchanged', async () => {
  const messages = [{ role: 'user' as const, content: 'ping 10.20.30.40' }];
  const err = await refused(h.openai(FINANCE_KEY).chat.completions.create({ model: 'house-gpt', messages }));
  assert.equal(err.status, 400);
  assert.match(err.message, /matches ipv4/);
  await h.openai(TEST_MASTER_KEY).chat.completions.create({ model: 'house-gpt', messages });
  assert.deepEqual(lastUpstreamBody().messages, messages);
});

test('tag policy: data:pii is refused for the openai provider and served by anthropic', async () => {
  const forwarded = h.fake.requests.length;
  const err = await refused(
    h.openai().chat.completions.create({
      model: 'house-gpt',
      messages: [{ role: 'user', content: 'hello' }],
      // @ts-expect-error Spendhouse's body field for tags
      tags: ['data:pii'],
    }),
  );
  assert.equal(err.status, 403);
  assert.equal((err.error as { type?: string }).type, 'policy_violation');
  assert.match(err.message, /pii-stays-off-openai: calls tagged data:pii may not go to provider openai/);
  assert.equal(h.fake.requests.length, forwarded);
  const record = await h.record(err.headers?.get('x-spend-request-id'));
  assert.deepEqual([record.status, record.error_type, record.tags], [403, 'policy_violation', ['data:pii']]);

  // The header form of tags is merged the same way; the anthropic deployment serves the same tags.
  const ok = await fetch(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TEST_MASTER_KEY}`,
      'content-type': 'application/json',
      'x-spend-tags': 'data:pii',
    },
    body: JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(ok.status, 200, await ok.clone().text());
  // Untagged calls to openai are not affected.
  await h.openai().chat.completions.create({ model: 'house-gpt', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(h.fake.requests.length, forwarded + 2);
});

test('tag policy allow_models: region:eu may only use claude', async () => {
  const post = (model: string) =>
    fetch(`${h.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, tags: ['region:eu'], messages: [{ role: 'user', content: 'hi' }] }),
    });
  const denied = await post('house-gpt');
  assert.equal(denied.status, 403);
  const body = (await denied.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'policy_violation');
  assert.match(body.error.message, /eu-claude-only: calls tagged region:eu may not use model house-gpt/);
  assert.equal((await post('claude')).status, 200);
});
