// Calls that do not simply succeed, each still producing exactly one SpendRecord: upstream 429/500/timeout/
// unreachable (status passed through, never a proxy 5xx for a provider 4xx), unknown key, bad tags, unknown
// model, client disconnect mid-stream and streams without usage (tokens estimated), and call guards
// (admission headers, refusals, one settlement per call with the real outcome).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APIError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { hashKey } from '../src/auth/principal.js';
import type { AdmissionGuard, CallContext, CallOutcome } from '../src/callGuards.js';
import { AppError } from '../src/errors.js';
import { promptTokenBound } from '../src/proxy/promptSize.js';
import { warmTokenCounter } from '../src/proxy/tokenCountPool.js';
import { countPromptTokens, countTextTokens } from '../src/proxy/tokens.js';
import { HOUSE_PRICES, type ProxyHarness, proxyTestModels, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const hi = [{ role: 'user' as const, content: 'hi' }];
const HI_PROMPT_TOKENS = countPromptTokens('chat', { messages: hi });
/** What the proxy reserves for that prompt, without a tokenizer. */
const HI_PROMPT_BOUND = promptTokenBound('chat', { messages: hi });
const housePrice = (prompt: number, completion: number) => prompt * 1000 + completion * 2000;

let h: ProxyHarness;
before(async () => {
  // Estimated usage is counted exactly once the counting worker is up (before that, roughly: tokenCount tests).
  await warmTokenCounter();
  h = await startProxyHarness((fake) => ({
    model_list: [
      ...proxyTestModels(fake),
      {
        model_name: 'stalling',
        litellm_params: { model: 'openai/stall', api_base: `${fake}/v1`, stream_timeout: 0.5 },
        model_info: HOUSE_PRICES,
      },
      // Port 9 (discard) is closed here: connection refused.
      {
        model_name: 'unreachable',
        litellm_params: { model: 'openai/x', api_base: 'http://127.0.0.1:9/v1' },
        model_info: HOUSE_PRICES,
      },
    ],
  }));
});
after(async () => h.close());

/** Runs a call expected to fail; returns the SDK error and the call's record. */
async function failing(params: Record<string, unknown>, headers: Record<string, string> = {}, key?: string) {
  const err = await h
    .openai(key)
    .chat.completions.create(params as unknown as ChatCompletionCreateParamsNonStreaming, { headers })
    .then(
      () => assert.fail('the call should fail'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof APIError, String(err));
  return { err, record: await h.record(err.headers?.get('x-spend-request-id')) };
}

test('upstream 429 passes through with its status, message and retry-after; recorded with cost 0', async () => {
  h.fake.forModel('fail-429', {
    error: {
      status: 429,
      headers: { 'retry-after': '7' },
      body: { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
    },
  });
  const { err, record } = await failing({ model: 'flaky', messages: hi });
  assert.equal(err.status, 429);
  assert.equal(err.message, '429 slow down');
  assert.equal(err.code, 'rate_limit_exceeded');
  assert.equal(err.headers?.get('retry-after'), '7');
  assert.deepEqual(
    [record.status, record.error_type, record.cost_nano, record.total_tokens, record.usage_estimated],
    [429, 'rate_limit_error', 0, 0, false],
  );
  assert.equal(record.model, 'flaky');
});

test('upstream 500, timeout and unreachable: 500, 504 and 502, each recorded', async () => {
  const broken = await failing({ model: 'broken', messages: hi });
  assert.equal(broken.err.status, 500);
  assert.deepEqual([broken.record.status, broken.record.error_type], [500, 'api_error']);

  const slow = await failing({ model: 'slow', messages: hi });
  assert.equal(slow.err.status, 504);
  assert.deepEqual([slow.record.status, slow.record.error_type, slow.record.cost_nano], [504, 'upstream_timeout', 0]);

  const unreachable = await failing({ model: 'unreachable', messages: hi });
  assert.equal(unreachable.err.status, 502);
  assert.deepEqual([unreachable.record.status, unreachable.record.error_type], [502, 'upstream_error']);
});

test('unknown key → 401 in OpenAI shape, recorded without a key (nor anything from the body, never read)', async () => {
  const { err, record } = await failing({ model: 'house-gpt', messages: hi }, {}, 'sk-not-a-real-key-000');
  assert.equal(err.status, 401);
  assert.equal(err.type, 'invalid_request_error');
  assert.deepEqual(
    [record.status, record.error_type, record.key_hash, record.model, record.call_type],
    [401, 'unauthorized', null, '', 'chat'],
  );
});

test('bad tags → 400 naming the problem; unknown model → 404', async () => {
  const notString = await failing({ model: 'house-gpt', messages: hi, tags: ['ok', 5] });
  assert.equal(notString.err.status, 400);
  assert.equal(notString.err.param, 'tags[1]');
  assert.match(notString.err.message, /tags must be strings/);
  assert.deepEqual([notString.record.status, notString.record.error_type], [400, 'bad_request']);

  const tooMany = await failing({
    model: 'house-gpt',
    messages: hi,
    tags: Array.from({ length: 65 }, (_, i) => `t${i}`),
  });
  assert.equal(tooMany.err.status, 400);
  assert.match(tooMany.err.message, /at most 64 distinct tags/);

  const tooLong = await failing({ model: 'house-gpt', messages: hi }, { 'x-spend-tags': `ok,${'x'.repeat(201)}` });
  assert.equal(tooLong.err.param, 'x-spend-tags');
  assert.match(tooLong.err.message, /at most 200 characters/);

  const metadataTags = await failing({ model: 'house-gpt', messages: hi, metadata: { tags: 'not-a-list' } });
  assert.equal(metadataTags.err.param, 'metadata.tags');

  const unknown = await failing({ model: 'no-such-model', messages: hi });
  assert.equal(unknown.err.status, 404);
  assert.equal(unknown.err.param, 'model');
  assert.deepEqual([unknown.record.status, unknown.record.provider, unknown.record.cost_nano], [404, '', 0]);
});

test('a body fastify cannot parse is answered 400 and recorded for its key; /v1/models without a key is a 401', async () => {
  const res = await fetch(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: '{"model": "house-gpt", ',
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { type: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  const record = await h.record(res.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [record.status, record.call_type, record.error_type, record.key_hash],
    [400, 'chat', 'bad_request', hashKey(TEST_MASTER_KEY)],
  );

  // Without a valid key the same body is refused before it is read.
  const anonymous = await fetch(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-whoever-0000', 'content-type': 'application/json' },
    body: '{"model": "house-gpt", ',
  });
  assert.equal(anonymous.status, 401);

  const models = await fetch(`${h.origin}/v1/models`);
  assert.equal(models.status, 401);
  assert.equal(((await models.json()) as { error: { code: string } }).error.code, 'unauthorized');
});

test('client disconnect mid-stream cancels the upstream and records estimated usage', async () => {
  const text = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  h.fake.setDefaults({ text, chunkDelayMs: 30, usage: { promptTokens: 1000, completionTokens: 500 } });
  const upstreamBefore = h.fake.requests.length;
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({ model: 'house-gpt', messages: hi, stream: true })
    .withResponse();
  let seen = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content) seen += 1;
    if (seen === 3) break; // leaving the loop aborts the HTTP request
  }
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [record.status, record.error_type, record.usage_estimated, record.stream],
    [200, 'client_disconnected', true, true],
  );
  // The final usage chunk never came: prompt counted locally, output = tokens of the text relayed so far.
  assert.equal(record.prompt_tokens, HI_PROMPT_TOKENS);
  assert.ok(
    record.completion_tokens >= 3 && record.completion_tokens < countTextTokens(text),
    String(record.completion_tokens),
  );
  assert.equal(record.cost_nano, housePrice(record.prompt_tokens, record.completion_tokens));
  const upstream = h.fake.requests[upstreamBefore];
  const deadline = Date.now() + 2000;
  while (!upstream?.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(upstream?.aborted, true, 'the upstream request was cancelled');
});

test('a stream that stalls past stream_timeout ends with an error event; recorded 200 with the error type', async () => {
  h.fake.forModel('stall', { text: 'one two three four five six', chunkDelayMs: 2500 });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({ model: 'stalling', messages: hi, stream: true })
    .withResponse();
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })(),
    (err: unknown) => err instanceof APIError && /did not answer in time/.test(err.message),
  );
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual([record.status, record.error_type, record.usage_estimated], [200, 'upstream_timeout', true]);
  assert.equal(record.completion_tokens, countTextTokens(text));
  assert.equal(record.cost_nano, housePrice(record.prompt_tokens, record.completion_tokens));
});

test('a stream that ends without usage is counted locally and marked usage_estimated', async () => {
  const text = 'The provider forgot to send usage.';
  h.fake.setDefaults({ text, streamUsage: false });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({
      model: 'house-gpt',
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  for await (const _ of stream);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.usage_estimated, true);
  assert.equal(record.error_type, null);
  assert.deepEqual([record.prompt_tokens, record.completion_tokens], [HI_PROMPT_TOKENS, countTextTokens(text)]);
  assert.equal(record.cost_nano, housePrice(HI_PROMPT_TOKENS, countTextTokens(text)));
});

test('call guards: admission headers, refusal recorded with its status, exactly one settle per call', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  const contexts: CallContext[] = [];
  const settled: CallOutcome[] = [];
  const observer: AdmissionGuard = {
    name: 'observer',
    async admit(ctx) {
      contexts.push(ctx);
      return { headers: { 'x-test-guard': 'admitted' }, settle: async (outcome) => void settled.push(outcome) };
    },
  };
  const refuser: AdmissionGuard = {
    name: 'refuser',
    async admit(ctx) {
      if (ctx.tags.includes('blocked'))
        throw new AppError('budget_exceeded', 'no budget left', { headers: { 'retry-after': '60' } });
      return { settle: async () => {} };
    },
  };
  const removers = [
    h.app.callGuards.addAdmission('budget', observer),
    h.app.callGuards.addAdmission('budget', refuser),
  ];
  try {
    const { response } = await h
      .openai()
      .chat.completions.create({ model: 'house-gpt', messages: hi, max_tokens: 100 })
      .withResponse();
    assert.equal(response.headers.get('x-test-guard'), 'admitted');
    const ctx = contexts.at(-1);
    assert.deepEqual(
      [ctx?.promptTokens, ctx?.maxCompletionTokens, ctx?.maxCostNano, ctx?.upstreamModel],
      [HI_PROMPT_BOUND, 100, housePrice(HI_PROMPT_BOUND, 100), 'house-model'],
    );
    await h.record(response.headers.get('x-spend-request-id'));
    assert.deepEqual(settled, [
      { costNano: 2_000_000, promptTokens: 1000, completionTokens: 500, totalTokens: 1500, status: 200 },
    ]);

    const upstreamBefore = h.fake.requests.length;
    const refused = await failing({ model: 'house-gpt', messages: hi, tags: ['blocked'] });
    assert.equal(refused.err.status, 429);
    assert.equal(refused.err.headers?.get('retry-after'), '60');
    assert.deepEqual(
      [refused.record.status, refused.record.error_type, refused.record.tags],
      [429, 'budget_exceeded', ['blocked']],
    );
    assert.equal(h.fake.requests.length, upstreamBefore, 'a refused call is not forwarded');
    assert.deepEqual(settled.at(-1), {
      costNano: 0,
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      status: 429,
    });

    await failing({ model: 'broken', messages: hi });
    assert.equal(settled.length, 3);
    assert.equal(settled.at(-1)?.status, 500);
  } finally {
    for (const remove of removers) remove();
  }
});
