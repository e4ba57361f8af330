// Budgets hold for every request shape, and a request does bounded work (issue 16): `mock_response` only for
// trusted keys, the mock cut at max_tokens (JSON, SSE, Anthropic), the reservation covering `n`/`best_of`,
// out-of-range numbers refused naming the field, a settlement above the reservation flagged in the record,
// and an unauthenticated body refused before it is read.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/auth/principal.js';
import { ledgerKeys } from '../src/budgets/ledger.js';
import type { AdmissionGuard, CallContext } from '../src/callGuards.js';
import { LIFETIME } from '../src/periods.js';
import { promptTokenBound } from '../src/proxy/promptSize.js';
import { warmTokenCounter } from '../src/proxy/tokenCountPool.js';
import { countTextTokens } from '../src/proxy/tokens.js';
import { HOUSE_PRICES, type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const hi = [{ role: 'user' as const, content: 'hi' }];
/** The prompt tokens the proxy reserves for `hi` (an upper bound, no tokenizer). */
const HI_PROMPT = promptTokenBound('chat', { messages: hi });
/** HOUSE_PRICES: 1000 nano-USD per input token, 2000 per output token. */
const reservationOf = (prompt: number, output: number) => prompt * 1000 + output * 2000;
const LONG_TEXT = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ');

let h: ProxyHarness;
before(async () => {
  await warmTokenCounter();
  h = await startProxyHarness((fake) => ({
    general_settings: { mock_response_key_aliases: ['mock-tester'] },
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: `${fake}/v1` },
        model_info: HOUSE_PRICES,
      },
      { model_name: 'house-mock', litellm_params: { model: 'mock/house-model' }, model_info: HOUSE_PRICES },
      {
        model_name: 'long-mock',
        litellm_params: { model: 'mock/house-model', mock_response: LONG_TEXT },
        model_info: HOUSE_PRICES,
      },
      {
        model_name: 'mock-embed',
        litellm_params: { model: 'mock/house-embed' },
        model_info: { mode: 'embedding', input_cost_per_token: 0.0000001 },
      },
    ],
  }));
});
after(async () => h.close());

async function newKey(alias: string, maxBudget?: number): Promise<{ key: string; keyId: string }> {
  const res = await fetch(`${h.origin}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key_alias: alias, ...(maxBudget === undefined ? {} : { max_budget: maxBudget }) }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { key: string; token_id: string };
  return { key: body.key, keyId: body.token_id };
}

/** The parts of an answer (OpenAI shape) these tests read. */
interface Answer {
  error: { param: string | null; message: string };
  choices: { finish_reason: string; message: { content: string } }[];
  data: { embedding: number[] }[];
}

/** POST a JSON body; the parsed answer and the call's record. */
async function post(path: string, key: string, body: Record<string, unknown>) {
  const res = await fetch(`${h.origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const record = await h.record(res.headers.get('x-spend-request-id'));
  return { status: res.status, text, json: () => JSON.parse(text) as Answer, record };
}

test('mock_response: a virtual key not on the allow-list is refused (403 naming it); the master key may send it', async () => {
  const { key } = await newKey('plain-key');
  const upstream = h.fake.requests.length;
  const refused = await post('/v1/chat/completions', key, { model: 'house-gpt', messages: hi, mock_response: 'free' });
  assert.equal(refused.status, 403);
  assert.equal(refused.json().error.param, 'mock_response');
  assert.match(refused.json().error.message, /mock_response_key_aliases/);
  assert.deepEqual([refused.record.status, refused.record.cost_nano], [403, 0]);
  assert.equal(h.fake.requests.length, upstream, 'nothing forwarded');

  const master = await post('/v1/chat/completions', TEST_MASTER_KEY, {
    model: 'house-gpt',
    messages: hi,
    mock_response: 'canned',
  });
  assert.equal(master.status, 200);
  assert.equal(master.json().choices[0]?.message.content, 'canned');
  assert.equal(master.record.provider, 'mock');
});

test("an allow-listed key's mock reply is cut at max_tokens (JSON, SSE, Anthropic) and never costs more than reserved", async () => {
  const { key } = await newKey('mock-tester');
  const json = await post('/v1/chat/completions', key, {
    model: 'house-gpt',
    messages: hi,
    max_tokens: 7,
    mock_response: LONG_TEXT,
  });
  assert.equal(json.status, 200, json.text);
  const choice = json.json().choices[0];
  assert.ok(choice);
  assert.equal(choice.finish_reason, 'length');
  assert.ok(countTextTokens(choice.message.content) <= 7);
  assert.ok(LONG_TEXT.startsWith(choice.message.content));
  assert.equal(json.record.completion_tokens, countTextTokens(choice.message.content));
  assert.ok(json.record.cost_nano <= reservationOf(HI_PROMPT, 7), `${json.record.cost_nano}`);
  assert.equal(json.record.metadata.over_reservation_nano, undefined);

  const stream = await h
    .openai(key)
    .chat.completions.create({ model: 'long-mock', messages: hi, max_completion_tokens: 5, stream: true });
  let text = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'length');
  assert.ok(text.length > 0 && countTextTokens(text) <= 5, text);

  const message = await h
    .anthropic(key)
    .messages.create({ model: 'long-mock', max_tokens: 6, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(message.stop_reason, 'max_tokens');
  assert.ok(message.usage.output_tokens <= 6);
});

test('20 parallel mock calls on a tiny budget never spend past it', async () => {
  // Each call's worst case is reservationOf(HI_PROMPT, 50) ≈ $0.0001; before the fix each was charged the
  // whole 3000-word text (≈ $0.012) whatever max_tokens said.
  const { key, keyId } = await newKey('mock-budget', 0.00025);
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      post('/v1/chat/completions', key, { model: 'long-mock', messages: hi, max_tokens: 50 }),
    ),
  );
  const ok = results.filter((r) => r.status === 200);
  assert.ok(ok.length >= 1, 'some calls fit the budget');
  assert.ok(results.every((r) => r.status === 200 || r.status === 429));
  const spent = results.reduce((sum, r) => sum + r.record.cost_nano, 0);
  assert.ok(spent <= 250_000, `spent ${spent} nano-USD of a 250000 budget`);
  const counters = await h.app.budgetLedger.read(ledgerKeys.scope(`key:${keyId}`, LIFETIME));
  assert.equal(counters.spent, spent);
  assert.equal(counters.reserved, 0);
});

test('an aborted mock stream is charged at most its reservation', async () => {
  const { key, keyId } = await newKey('mock-abort', 0.01);
  const abort = new AbortController();
  const res = await fetch(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'long-mock', messages: hi, max_tokens: 300, stream: true }),
    signal: abort.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body?.getReader();
  await reader?.read();
  abort.abort();
  const record = await h.record(res.headers.get('x-spend-request-id'));
  const reserved = reservationOf(HI_PROMPT, 300);
  assert.ok(record.cost_nano <= reserved, `charged ${record.cost_nano} of a ${reserved} reservation`);
  const counters = await h.app.budgetLedger.read(ledgerKeys.scope(`key:${keyId}`, LIFETIME));
  assert.equal(counters.spent, record.cost_nano);
});

test('the reservation covers every choice: n=4 reserves 4× the output, best_of counts on completions', async () => {
  const seen: CallContext[] = [];
  const observer: AdmissionGuard = {
    name: 'observer',
    async admit(ctx) {
      seen.push(ctx);
      return { settle: async () => {} };
    },
  };
  const remove = h.app.callGuards.addAdmission('budget', observer);
  try {
    const chat = await post('/v1/chat/completions', TEST_MASTER_KEY, {
      model: 'house-gpt',
      messages: hi,
      n: 4,
      max_tokens: 100,
    });
    assert.equal(chat.status, 200);
    assert.deepEqual([seen[0]?.maxCompletionTokens, seen[0]?.maxCostNano], [400, reservationOf(HI_PROMPT, 400)]);
    const completion = await post('/v1/completions', TEST_MASTER_KEY, {
      model: 'house-gpt',
      prompt: 'hi',
      n: 2,
      best_of: 3,
      max_tokens: 10,
    });
    assert.equal(completion.status, 200);
    assert.equal(seen[1]?.maxCompletionTokens, 30);
  } finally {
    remove();
  }
});

test('numbers that decide work or money are range-checked: 400 naming the field, nothing forwarded', async () => {
  const upstream = h.fake.requests.length;
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      '/v1/chat/completions',
      { model: 'house-gpt', messages: hi, max_tokens: 2 ** 53 - 1 },
      'max_tokens',
      /^max_tokens: expected an integer between 1 and 1048576, got 9007199254740991$/,
    ],
    ['/v1/chat/completions', { model: 'house-gpt', messages: hi, n: 1.5 }, 'n', /^n: expected an integer .*got 1\.5$/],
    ['/v1/chat/completions', { model: 'house-gpt', messages: hi, n: 129 }, 'n', /between 1 and 128/],
    ['/v1/chat/completions', { model: 'house-gpt', messages: hi, n: '2' }, 'n', /got "2"$/],
    [
      '/v1/chat/completions',
      { model: 'house-gpt', messages: hi, max_completion_tokens: 0 },
      'max_completion_tokens',
      /between 1 and/,
    ],
    ['/v1/completions', { model: 'house-gpt', prompt: 'x', best_of: 21 }, 'best_of', /between 1 and 20/],
    ['/v1/embeddings', { model: 'mock-embed', input: 'x', dimensions: 6e6 }, 'dimensions', /between 1 and 8192/],
    ['/v1/embeddings', { model: 'mock-embed', input: Array(200).fill('x'), dimensions: 3072 }, 'input', /mock/],
  ];
  for (const [path, body, param, message] of cases) {
    const res = await post(path, TEST_MASTER_KEY, body);
    assert.equal(res.status, 400, `${param}: ${res.text}`);
    assert.equal(res.json().error.param, param);
    assert.match(res.json().error.message, message);
    assert.deepEqual([res.record.status, res.record.error_type], [400, 'bad_request']);
  }
  assert.equal(h.fake.requests.length, upstream);

  const embedded = await post('/v1/embeddings', TEST_MASTER_KEY, { model: 'mock-embed', input: 'x', dimensions: 3072 });
  assert.equal(embedded.status, 200);
  assert.equal(embedded.json().data[0]?.embedding.length, 3072);
});

test('a cost above the reservation is settled in full and flagged in the record; callers cannot set the flag', async () => {
  // A provider that ignores max_tokens: 500 completion tokens where 10 were allowed.
  h.fake.setDefaults({ usage: { promptTokens: HI_PROMPT, completionTokens: 500 } });
  try {
    const over = await post('/v1/chat/completions', TEST_MASTER_KEY, {
      model: 'house-gpt',
      messages: hi,
      max_tokens: 10,
    });
    assert.equal(over.status, 200);
    assert.equal(over.record.cost_nano, reservationOf(HI_PROMPT, 500));
    assert.equal(over.record.metadata.over_reservation_nano, String(490 * 2000));
  } finally {
    h.fake.setDefaults({});
  }
  const spoofed = await post('/v1/chat/completions', TEST_MASTER_KEY, {
    model: 'house-gpt',
    messages: hi,
    metadata: { over_reservation_nano: '0' },
  });
  assert.equal(spoofed.status, 400);
  assert.equal(spoofed.json().error.param, 'metadata.over_reservation_nano');
});

test('a request without a valid key is refused (401, recorded) before its body is read', async () => {
  // 9 MB announced, 1 KB sent: the 401 arrives while the body is still unsent, so it was never parsed.
  const req = httpRequest(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) },
  });
  req.on('error', () => {});
  req.write('['.repeat(1024));
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  assert.equal(res.statusCode, 401);
  res.resume();
  req.destroy();
  const record = await h.record(String(res.headers['x-spend-request-id']));
  assert.deepEqual([record.status, record.error_type, record.key_hash], [401, 'unauthorized', null]);
});

test('a too-deeply nested body from a valid key is a 400 recorded for that key', async () => {
  const res = await fetch(`${h.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: `{"model":"house-gpt","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as Answer;
  assert.equal(body.error.param, 'body');
  assert.match(body.error.message, /nested deeper/);
  const record = await h.record(res.headers.get('x-spend-request-id'));
  assert.deepEqual([record.status, record.error_type, record.key_hash], [400, 'bad_request', hashKey(TEST_MASTER_KEY)]);
});
