// The Models tab's health counts the provider's failures only: calls Spendhouse refused (429 budget_exceeded
// and rate_limit_exceeded, 403 forbidden / policy_violation, 401 unauthorized, 400 bad_request) or the client
// abandoned (499) are `refused`, not errors, and do not make a model degraded; a provider's own 429 or 401
// (its error type or its status passed through) and 5xx/timeouts do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { modelHealth } from '../src/ui/server/modelHealth.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

let t: TestApp;
const NOW = Date.now();
const MODELS = [
  { model_name: 'refused-only', litellm_params: { model: 'openai/gpt-4o' } },
  { model_name: 'failing', litellm_params: { model: 'openai/gpt-4o-mini' } },
];

function call(i: number, model: string, status: number, error_type: string) {
  const ms = NOW - 30_000 - i * 1000;
  return {
    request_id: `mh-${model}-${i}`,
    start_time: Math.floor(ms / 1000),
    start_time_ms: ms,
    end_time_ms: ms + 100,
    duration_ms: 100,
    model,
    status,
    error_type,
    total_tokens: 10,
  };
}

before(async () => {
  t = await startTestApp(testConfig({ model_list: MODELS }));
  const refusals: [number, string][] = [
    [429, 'budget_exceeded'],
    [429, 'rate_limit_exceeded'],
    [403, 'policy_violation'],
    [403, 'forbidden'],
    [401, 'unauthorized'],
    [400, 'bad_request'],
    [499, 'client_disconnected'],
  ];
  const rows = [
    // 3 served calls, 7 refusals (70% of all calls): healthy.
    ...[0, 1, 2].map((i) => call(i, 'refused-only', 200, '')),
    ...refusals.map(([status, type], i) => call(10 + i, 'refused-only', status, type)),
    // 4 served calls of which 2 failed at the provider (a provider 429 and a provider 401 passed through
    // with an OpenAI type), plus one refusal: 50% provider failures → degraded.
    call(0, 'failing', 200, ''),
    call(1, 'failing', 200, ''),
    call(2, 'failing', 429, 'rate_limit_error'),
    call(3, 'failing', 401, 'invalid_request_error'),
    call(-1, 'failing', 429, 'budget_exceeded'), // the newest call
  ];
  await t.app.warehouse.insert('spend_logs', rows);
});
after(async () => t?.close());

const pick = (m: object, fields: string[]) =>
  Object.fromEntries(fields.map((f) => [f, (m as Record<string, unknown>)[f]]));
const FIELDS = ['requests', 'refused', 'errors', 'success_rate', 'health'];

test('refusals are counted apart and do not degrade a model', async () => {
  const [refusedOnly, failing] = await modelHealth(t.app.warehouse, MODELS, 60, NOW);
  assert.ok(refusedOnly && failing);
  assert.deepEqual(pick(refusedOnly, FIELDS), {
    requests: 10,
    refused: 7,
    errors: 0,
    success_rate: 1,
    health: 'healthy',
  });
  assert.equal(refusedOnly.last_error, null);
  assert.deepEqual(pick(failing, FIELDS), {
    requests: 5,
    refused: 1,
    errors: 2,
    success_rate: 0.5,
    health: 'degraded',
  });
  // The last provider failure, not the newer refusal.
  assert.deepEqual(failing.last_error && [failing.last_error.status, failing.last_error.error_type], [
    429,
    'rate_limit_error',
  ]);
});

test('GET /ui/api/models answers with the same counts', async () => {
  const res = await t.app.inject({ url: '/ui/api/models', headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
  assert.equal(res.statusCode, 200, res.body);
  const byName = new Map(res.json().data.map((m: { model_name: string }) => [m.model_name, m]));
  assert.deepEqual(pick(byName.get('refused-only') as object, FIELDS).health, 'healthy');
  assert.deepEqual(pick(byName.get('failing') as object, FIELDS), {
    requests: 5,
    refused: 1,
    errors: 2,
    success_rate: 0.5,
    health: 'degraded',
  });
});
