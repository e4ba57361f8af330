// Property-based fuzzing of every route family with hostile values (test/helpers/hostileValues.ts), over a
// real port: no answer may be a 5xx, no request may stall the event loop past STALL_LIMIT_MS, and afterwards
// a normal call still lands in ClickHouse (the spend pipeline was not jammed by anything sent before).
// fast-check prints the seed and the shrunk counterexample of a failure; FUZZ_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { hostileJsonText, hostileString, hostileValue, mutatedBody } from './helpers/hostileValues.js';
import { waitForQueueIdle } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

/**
 * The product's target is 50 ms per request (docs/security.md), measured quietly by the bench; on a shared,
 * loaded CI machine a GC pause can pass that on its own, so the suite flags stalls of a different order —
 * the 3–18 s ones issue 16 found — without flaking.
 */
const STALL_LIMIT_MS = 250;
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/**
 * fast-check's parameters for every property here: the seed (FUZZ_SEED replays a failure) and a report cut to
 * a readable length (a counterexample may hold a 200 KB string).
 */
function params<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns,
    seed: SEED,
    reporter(details) {
      if (!details.failed) return;
      const example = fc.stringify(details.counterexample);
      const cause =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(
        [
          `property failed after ${details.numRuns} runs (replay: FUZZ_SEED=${details.seed}; path ${details.counterexamplePath})`,
          `error: ${cause.slice(0, 1500)}`,
          `counterexample: ${example.length > 1500 ? `${example.slice(0, 1500)}… (${example.length} characters)` : example}`,
        ].join('\n'),
      );
    },
  };
}

let t: TestApp;
let base: string;
let virtualKey: string;
let ingestKey: string;
let teamId: string;
const loop = monitorEventLoopDelay({ resolution: 5 });
let worstStallMs = 0;
let requestsSent = 0;

interface Sent {
  status: number;
  body: string;
}

async function send(
  method: 'GET' | 'POST',
  path: string,
  options: { key?: string; json?: unknown; text?: string; contentType?: string } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.text !== undefined) body = options.text;
  else if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  loop.reset();
  const res = await request(`${base}${path}`, { method, headers, body });
  const text = await res.body.text();
  const stallMs = loop.max / 1e6;
  worstStallMs = Math.max(worstStallMs, stallMs);
  requestsSent += 1;
  assert.ok(res.statusCode < 500, `${method} ${path} → ${res.statusCode} ${text.slice(0, 300)}`);
  assert.ok(stallMs < STALL_LIMIT_MS, `${method} ${path} stalled the event loop for ${stallMs.toFixed(0)} ms`);
  return { status: res.statusCode, body: text };
}

async function created(path: string, json: unknown): Promise<Record<string, unknown>> {
  const res = await send('POST', path, { key: TEST_MASTER_KEY, json });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Record<string, unknown>;
}

before(async () => {
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'fuzz-chat',
          litellm_params: { model: 'mock/fuzz-chat' },
          model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
        {
          model_name: 'fuzz-embed',
          litellm_params: { model: 'mock/fuzz-embed' },
          model_info: { mode: 'embedding', input_cost_per_token: 0.0000001 },
        },
        { model_name: 'claude-3-5-sonnet', litellm_params: { model: 'mock/claude-3-5-sonnet-20241022' } },
      ],
      general_settings: { store_prompts_in_spend_logs: true },
    }),
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  assert.ok(address && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
  loop.enable();
  teamId = String((await created('/team/new', { team_alias: 'fuzz-team', max_budget: 5 })).team_id);
  virtualKey = String((await created('/key/generate', { team_id: teamId, max_budget: 1, budget_duration: '30d' })).key);
  ingestKey = String((await created('/key/generate', { team_id: teamId, permissions: ['ingest'] })).key);
});

after(async () => {
  loop.disable();
  console.log(`fuzz: ${requestsSent} requests, worst event-loop stall ${worstStallMs.toFixed(1)} ms`);
  await t.close();
});

const PROXY_BODIES: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': {
    model: 'fuzz-chat',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 16,
    n: 1,
    stream: false,
    user: 'end-user',
    metadata: { app: 'fuzz' },
    tags: ['fuzz'],
    temperature: 0.5,
  },
  '/chat/completions': { model: 'fuzz-chat', messages: [{ role: 'user', content: 'hi' }], stream: true },
  '/v1/completions': { model: 'fuzz-chat', prompt: 'say hi', max_tokens: 8 },
  '/v1/embeddings': { model: 'fuzz-embed', input: ['a', 'b'], dimensions: 8 },
  '/v1/messages': {
    model: 'claude-3-5-sonnet',
    max_tokens: 16,
    system: 'be brief',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    metadata: { user_id: 'end-user' },
  },
};

const authChoice = fc.constantFrom<'none' | 'virtual' | 'master'>('none', 'virtual', 'master');
const keyFor = (auth: 'none' | 'virtual' | 'master') =>
  auth === 'none' ? undefined : auth === 'virtual' ? virtualKey : TEST_MASTER_KEY;

test('proxy routes: hostile fields, with and without a key, never 5xx or stall', async () => {
  const call = fc
    .constantFrom(...Object.keys(PROXY_BODIES))
    .chain((path) =>
      fc.record({ path: fc.constant(path), auth: authChoice, body: mutatedBody(PROXY_BODIES[path] ?? {}) }),
    );
  await fc.assert(
    fc.asyncProperty(call, async ({ path, auth, body }) => {
      await send('POST', path, { key: keyFor(auth), json: body });
    }),
    params(RUNS * 3),
  );
});

test('proxy routes: bodies that are not a JSON object (deep, truncated, huge, wrong type)', async () => {
  const call = fc.record({
    path: fc.constantFrom(...Object.keys(PROXY_BODIES)),
    auth: authChoice,
    text: hostileJsonText,
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
  });
  await fc.assert(
    fc.asyncProperty(call, async ({ path, auth, text, contentType }) => {
      await send('POST', path, { key: keyFor(auth), text, contentType });
    }),
    params(RUNS),
  );
});

const INGEST_RECORD = {
  request_id: 'fuzz-0',
  start_time: '2026-12-01T10:00:00.000Z',
  end_time: '2026-12-01T10:00:01.000Z',
  model: 'fuzz-chat',
  call_type: 'chat',
  status: 200,
  user_id: 'end-user',
  customer_id: 'cust-1',
  prompt_tokens: 10,
  completion_tokens: 5,
  cost_usd: '0.000020000',
  tags: ['fuzz'],
  metadata: { job: 'nightly' },
  spend: 0.00002,
  request_tags: ['a'],
};

test('ingest API: hostile records, bodies and encodings never 5xx, stall or jam the queue', async () => {
  let n = 0;
  const records = fc.array(mutatedBody(INGEST_RECORD), { minLength: 1, maxLength: 3 });
  const call = fc.oneof(
    records.map((list) => ({ json: list.map((r) => ({ ...r, request_id: r.request_id ?? `fuzz-${n}` })) })),
    hostileJsonText.map((text) => ({ text })),
  );
  await fc.assert(
    fc.asyncProperty(call, fc.constantFrom(ingestKey, TEST_MASTER_KEY), async (body, key) => {
      n += 1;
      // Distinct ids per run, so each record reaches the queue rather than answering "duplicate".
      const json =
        'json' in body
          ? body.json.map((r, i) =>
              typeof r.request_id === 'string' ? { ...r, request_id: `${r.request_id}-${n}-${i}` } : r,
            )
          : undefined;
      await send('POST', '/ingest/v1/records', { key, json, text: 'text' in body ? body.text : undefined });
    }),
    params(RUNS * 2),
  );
});

const MANAGEMENT_BODIES: Record<string, () => Record<string, unknown>> = {
  '/key/generate': () => ({
    key_alias: 'alias',
    team_id: teamId,
    max_budget: 1,
    budget_duration: '30d',
    rpm_limit: 10,
    tpm_limit: 1000,
    models: ['fuzz-chat'],
    metadata: { owner: 'fuzz' },
    tags: ['fuzz'],
    duration: '1d',
    model_max_budget: { 'fuzz-chat': { budget_limit: 1, time_period: '1d' } },
  }),
  '/key/update': () => ({ key: virtualKey, max_budget: 2, key_alias: 'renamed', metadata: {} }),
  '/key/block': () => ({ key: 'sk-does-not-exist-0000' }),
  '/team/new': () => ({ team_alias: 'team', max_budget: 10, budget_duration: '1mo', models: [], tags: ['t'] }),
  '/team/update': () => ({ team_id: teamId, max_budget: 10, team_alias: 'renamed' }),
  '/team/member_add': () => ({ team_id: teamId, member: { user_id: 'member-1', role: 'user' }, max_budget_in_team: 1 }),
  '/user/new': () => ({ user_id: 'user-x', user_email: 'x@example.com', max_budget: 1, teams: [teamId] }),
  '/customer/new': () => ({ user_id: 'cust-x', max_budget: 1, budget_duration: '7d' }),
  '/tag/new': () => ({ name: 'tag-x', max_budget: 1, budget_duration: '1d' }),
  '/budget/new': () => ({ budget_id: 'tier-x', max_budget: 1, rpm_limit: 5 }),
};

test('management API: hostile fields never 5xx or stall', async () => {
  const call = fc
    .constantFrom(...Object.keys(MANAGEMENT_BODIES))
    .chain((path) => fc.record({ path: fc.constant(path), body: mutatedBody(MANAGEMENT_BODIES[path]?.() ?? {}) }));
  await fc.assert(
    fc.asyncProperty(call, async ({ path, body }) => {
      await send('POST', path, { key: TEST_MASTER_KEY, json: body });
    }),
    params(RUNS * 2),
  );
});

const READ_ROUTES: Record<string, string[]> = {
  '/spend/query': [
    'from',
    'to',
    'timezone',
    'granularity',
    'group_by',
    'filters',
    'tags',
    'metrics',
    'limit',
    'cursor',
  ],
  '/spend/logs': ['start_date', 'end_date', 'request_id', 'api_key', 'user_id', 'team_id', 'page', 'page_size'],
  '/spend/logs/v2': ['start_date', 'end_date', 'page', 'page_size', 'model', 'status_filter', 'key_alias'],
  '/spend/tags': ['start_date', 'end_date'],
  '/global/spend/report': ['start_date', 'end_date', 'group_by', 'api_key', 'internal_user_id', 'team_id'],
  '/team/daily/activity': ['start_date', 'end_date', 'team_ids', 'page', 'page_size', 'model'],
  '/key/info': ['key'],
  '/key/list': ['page', 'size', 'team_id', 'key_alias', 'user_id'],
  '/user/info': ['user_id', 'user_email'],
  '/team/info': ['team_id'],
  '/customer/info': ['end_user_id'],
  '/budget/info': ['budgets'],
  '/ingest/v1/dead-letters': ['offset', 'limit'],
  '/spend/anomalies': ['granularity', 'dimension', 'from', 'to'],
  '/spend/reconciliation': ['from', 'to'],
  '/spend/forecast': ['scope_type'],
  '/spend/showback': ['team_id', 'month', 'format', 'group_by', 'timezone'],
};

test('read routes: hostile query strings never 5xx or stall', async () => {
  const call = fc.constantFrom(...Object.keys(READ_ROUTES)).chain((path) =>
    fc.record({
      path: fc.constant(path),
      key: fc.constantFrom(TEST_MASTER_KEY, virtualKey),
      params: fc.array(fc.tuple(fc.constantFrom(...(READ_ROUTES[path] ?? ['x']), 'unknown'), hostileString), {
        maxLength: 4,
      }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(call, async ({ path, key, params }) => {
      // Lone surrogates cannot be percent-encoded as UTF-8: encodeURIComponent throws, so send them as U+FFFD.
      const query = params.map(([name, value]) => `${name}=${encodeURIComponent(value.toWellFormed())}`).join('&');
      await send('GET', `${path}?${query}`, { key });
    }),
    params(RUNS * 2),
  );
});

test('POST /spend/query and the dashboard login: hostile JSON never 5xx or stall', async () => {
  const query = { from: '-7d', to: 'now', group_by: ['team', 'tag'], metrics: ['cost'], tags: { any: ['fuzz'] } };
  await fc.assert(
    fc.asyncProperty(mutatedBody(query), async (body) => {
      await send('POST', '/spend/query', { key: TEST_MASTER_KEY, json: body });
    }),
    params(RUNS),
  );
  await fc.assert(
    fc.asyncProperty(fc.record({ username: hostileValue, password: hostileValue }), async (body) => {
      await send('POST', '/ui/api/login', { json: body });
    }),
    params(RUNS / 2),
  );
});

const storedRow = z.object({ n: z.coerce.number() });

test('after the fuzzing, a normal call still lands in ClickHouse and the queue drains', async () => {
  const res = await request(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fuzz-chat', messages: [{ role: 'user', content: 'after the storm' }] }),
  });
  await res.body.text();
  assert.equal(res.statusCode, 200);
  const requestId = String(res.headers['x-spend-request-id']);
  // The event that matters: the row is in spend_logs. A jammed pipeline never gets there.
  const deadline = Date.now() + 30_000;
  let stored = 0;
  while (stored === 0 && Date.now() < deadline) {
    const rows = await t.app.warehouse.rows(
      sql`SELECT count() AS n FROM spend_logs WHERE request_id = ${requestId}`,
      storedRow,
    );
    stored = rows[0]?.n ?? 0;
    if (stored === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(stored, 1, 'the normal call after the fuzzing never reached ClickHouse');
  await waitForQueueIdle(t.app.spendProducer.queue);
  const status = await send('GET', '/ingest/v1/status', { key: TEST_MASTER_KEY });
  const worker = (JSON.parse(status.body) as { worker?: { clickhouse_outage: unknown } }).worker;
  assert.equal(worker?.clickhouse_outage ?? null, null, status.body);
});
