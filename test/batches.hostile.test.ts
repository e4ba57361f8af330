// Hostile input to the Batch API: every bad upload or batch request is a 4xx naming the line and field
// (or the parameter), never a 500, and nothing reaches OpenAI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { FormData, Response } from 'undici';
import { curlPost } from './budgetCalls.js';
import { type FakeOpenAIBatches, startFakeOpenAIBatches } from './helpers/fakeOpenAIBatches.js';
import { hostileJsonText, mutatedBody } from './helpers/hostileValues.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

let fake: FakeOpenAIBatches;
let t: TestApp;
let limitedKey: string;

before(async () => {
  fake = await startFakeOpenAIBatches();
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'gpt-4o-mini',
          litellm_params: { model: 'openai/gpt-4o-mini', api_base: fake.apiBase, api_key: fake.apiKey },
        },
        { model_name: 'claude', litellm_params: { model: 'anthropic/claude-3-5-haiku', api_key: 'sk-ant' } },
      ],
    }),
  );
  const key = await curlPost(t.app, '/key/generate', { key_alias: 'limited', models: ['claude'] });
  limitedKey = String(key.body.key);
});
after(async () => {
  await t.close();
  await fake.close();
});

async function uploadRaw(content: string, purpose = 'batch', key = TEST_MASTER_KEY) {
  const form = new FormData();
  form.append('purpose', purpose);
  form.append('file', new Blob([content]), 'in.jsonl');
  const encoded = new Response(form);
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/files',
    headers: { authorization: `Bearer ${key}`, 'content-type': encoded.headers.get('content-type') ?? '' },
    payload: Buffer.from(await encoded.arrayBuffer()),
  });
  return { status: response.statusCode, body: response.json() as { id?: string; error?: { message: string } } };
}

const line = (customId: string, body: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...body },
    ...extra,
  });

const CASES: [string, string, number, RegExp][] = [
  ['not JSON', `${line('a')}\n{"custom_id":`, 400, /^line 2: \(line\): not JSON/],
  ['not an object', '[1,2]', 400, /^line 1: \(line\): expected a JSON object/],
  ['too deep', `${'['.repeat(5000)}${']'.repeat(5000)}`, 400, /^line 1: \(line\): nested deeper than 64/],
  [
    'no custom_id',
    JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: {} }),
    400,
    /^line 1: custom_id:/,
  ],
  ['custom_id twice', `${line('a')}\n\n${line('a')}`, 400, /^line 3: custom_id: "a" is used twice/],
  ['method', line('a', {}, { method: 'GET' }), 400, /^line 1: method: expected "POST"/],
  ['url', line('a', {}, { url: '/v1/images/generations' }), 400, /^line 1: url: expected one of/],
  [
    'url changes',
    `${line('a')}\n${line('b', { input: 'x' }, { url: '/v1/embeddings' })}`,
    400,
    /^line 2: url: every line/,
  ],
  ['no model', line('a', { model: 7 }), 400, /^line 1: body\.model: required/],
  ['unknown model', line('a', { model: 'gpt-9' }), 400, /^line 1: body\.model: model gpt-9 is not served/],
  [
    'model changes',
    `${line('a')}\n${line('b', { model: 'claude' })}`,
    400,
    /^line 2: body\.model: every line must name/,
  ],
  ['not OpenAI', line('a', { model: 'claude' }), 400, /^line 1: body\.model: .*batches go to OpenAI only/],
  ['stream', line('a', { stream: true }), 400, /^line 1: body\.stream:/],
  ['max_tokens', line('a', { max_tokens: -1 }), 400, /^line 1: body\.max_tokens: expected an integer/],
  ['n', line('a', { n: 1e9 }), 400, /^line 1: body\.n: expected an integer/],
  ['empty', '\n\n', 400, /^file: holds no requests/],
];

for (const [name, content, status, message] of CASES) {
  test(`upload refused: ${name}`, async () => {
    const before = fake.requests.length;
    const answer = await uploadRaw(content);
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.match(answer.body.error?.message ?? '', message);
    assert.equal(fake.requests.length, before, 'nothing reached OpenAI');
  });
}

test('upload refused: a model the key may not call (403), a purpose other than batch, not multipart', async () => {
  const forbidden = await uploadRaw(line('a'), 'batch', limitedKey);
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.body.error?.message ?? '', /^line 1: body\.model: this key may not call model gpt-4o-mini/);
  const purpose = await uploadRaw(line('a'), 'fine-tune');
  assert.equal(purpose.status, 400);
  assert.match(purpose.body.error?.message ?? '', /^purpose:/);
  const notForm = await t.app.inject({
    method: 'POST',
    url: '/v1/files',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'multipart/form-data; boundary=x' },
    payload: 'garbage',
  });
  assert.equal(notForm.statusCode, 400);
  const noKey = await t.app.inject({ method: 'GET', url: '/v1/files' });
  assert.equal(noKey.statusCode, 401);
});

test('batch requests refused: bad ids, unknown file, wrong endpoint or window, bad paging', async () => {
  const file = await uploadRaw(line('a'));
  assert.equal(file.status, 200, JSON.stringify(file.body));
  const post = (body: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
  const get = (url: string) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
  const ok = { input_file_id: file.body.id, endpoint: '/v1/chat/completions', completion_window: '24h' };
  const cases: [unknown, number, string][] = [
    [[], 400, 'body'],
    [{ ...ok, input_file_id: "x' OR 1=1 --" }, 400, 'input_file_id'],
    [{ ...ok, input_file_id: 'file-nope' }, 404, 'id'],
    [{ ...ok, endpoint: '/v1/embeddings' }, 400, 'endpoint'],
    [{ ...ok, completion_window: '48h' }, 400, 'completion_window'],
    [{ ...ok, metadata: { job: 7 } }, 400, 'metadata.job'],
    [{ ...ok, tags: ['x'.repeat(500)] }, 400, 'tags[0]'],
  ];
  for (const [body, status, param] of cases) {
    const response = await post(body);
    assert.equal(response.statusCode, status, `${JSON.stringify(body)}: ${response.body}`);
    assert.equal((response.json() as { error: { param: string } }).error.param, param);
  }
  assert.equal((await get('/v1/batches/..%2F..%2Fetc')).statusCode, 400);
  assert.equal((await get('/v1/batches/batch_unknown')).statusCode, 404);
  assert.equal((await get('/batches/batch_unknown')).statusCode, 404, 'without the /v1 prefix too');
  assert.equal((await get('/files')).statusCode, 200);
  assert.equal((await get('/v1/files/file-unknown/content')).statusCode, 404);
  assert.equal((await get('/v1/batches?limit=0')).statusCode, 400);
  assert.equal((await get('/v1/batches?limit=1e3')).statusCode, 400);
  assert.equal((await get('/v1/files?after=%27%3B')).statusCode, 400);
  assert.equal(fake.requests.filter((r) => r.path === '/v1/batches').length, 0);
});

test('fuzzed lines and batch bodies: never a 5xx, and a refused line never reaches OpenAI', async () => {
  const valid = JSON.parse(line('a')) as Record<string, unknown>;
  const validBody = valid.body as Record<string, unknown>;
  const lineArb = fc.oneof(
    mutatedBody(valid).map((l) => JSON.stringify(l)),
    mutatedBody(validBody).map((body) => JSON.stringify({ ...valid, body })),
    hostileJsonText,
  );
  await fc.assert(
    fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 3 }), async (lines) => {
      const uploads = fake.requests.filter((r) => r.path === '/v1/files').length;
      const answer = await uploadRaw(lines.join('\n'));
      assert.ok(answer.status < 500, JSON.stringify(answer.body));
      const forwarded = fake.requests.filter((r) => r.path === '/v1/files').length - uploads;
      assert.equal(forwarded, answer.status === 200 ? 1 : 0);
    }),
    { numRuns: 60 },
  );
  const file = await uploadRaw(line('a'));
  const ok = { input_file_id: file.body.id, endpoint: '/v1/chat/completions', completion_window: '24h' };
  await fc.assert(
    fc.asyncProperty(mutatedBody(ok), async (body) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/batches',
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      assert.ok(response.statusCode < 500, response.body);
    }),
    { numRuns: 60 },
  );
});
