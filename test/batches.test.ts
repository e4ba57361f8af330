// The Batch API end to end with the OpenAI SDK against the proxy and a fake OpenAI (Files + Batches):
// upload → create (reserved against the key's budget) → the fake finishes the batch → the worker's poller
// writes one record per result line at the batch price, exactly once, attributed like the creating call,
// and settles the budget exactly. Also: refusal at creation, cancel / expire with partial output, a poller
// that dies before marking the batch settled, and paging.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { z } from 'zod';
import { BatchPoller } from '../src/batches/poller.js';
import { BatchStore } from '../src/batches/store.js';
import { BatchUpstream } from '../src/batches/upstream.js';
import { ledgerBudgets } from '../src/budgets/ledger.js';
import { resolveScopes } from '../src/budgets/scopes.js';
import { sql } from '../src/clickhouse/sql.js';
import { batchAccounts } from '../src/proxy/batches/accounts.js';
import { callContext, curlPost, principalFor } from './budgetCalls.js';
import { type FakeOpenAIBatches, type LineUsage, startFakeOpenAIBatches } from './helpers/fakeOpenAIBatches.js';
import { waitForQueueIdle } from './helpers/ingestRecords.js';
import { startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

let fake: FakeOpenAIBatches;
let t: TestApp;
let origin: string;

before(async () => {
  fake = await startFakeOpenAIBatches();
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'gpt-4o-mini',
          litellm_params: { model: 'openai/gpt-4o-mini', api_base: fake.apiBase, api_key: fake.apiKey },
          // OpenAI's list prices for gpt-4o-mini, per token: $0.15 / $0.075 cached / $0.60 per million.
          model_info: {
            input_cost_per_token: 0.00000015,
            cache_read_input_token_cost: 0.000000075,
            output_cost_per_token: 0.0000006,
          },
        },
        { model_name: 'claude', litellm_params: { model: 'anthropic/claude-3-5-haiku', api_key: 'sk-ant' } },
      ],
    }),
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await t.close();
  await fake.close();
});

async function newKey(body: Record<string, unknown>): Promise<{ secret: string; client: OpenAI }> {
  const key = await curlPost(t.app, '/key/generate', body);
  assert.equal(key.status, 200, JSON.stringify(key.body));
  const secret = String(key.body.key);
  return { secret, client: new OpenAI({ apiKey: secret, baseURL: `${origin}/v1`, maxRetries: 0 }) };
}

function jsonl(lines: unknown[]): string {
  return `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;
}

const chatLine = (customId: string, extra: Record<string, unknown> = {}) => ({
  custom_id: customId,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: `Say ${customId}` }], ...extra },
});

async function upload(client: OpenAI, lines: unknown[]) {
  return client.files.create({ file: await toFile(Buffer.from(jsonl(lines)), 'batch.jsonl'), purpose: 'batch' });
}

/** The key's budget counter in Redis: what is spent and what is still reserved. */
async function keyCounter(secret: string) {
  const principal = await principalFor(t.app, secret);
  const scopes = await resolveScopes(
    callContext(principal, { model: 'gpt-4o-mini', maxCostNano: 0, costNano: 0 }),
    t.app.controlPlane.cache,
    t.config.budgetTimezone,
  );
  const [counter] = ledgerBudgets(scopes.budgets.filter((s) => s.kind === 'key'));
  assert.ok(counter, 'the key has a budget scope');
  return t.app.budgetLedger.read(counter.key);
}

const recordRow = z.object({
  request_id: z.string(),
  cost_nano: z.coerce.number(),
  list_cost_nano: z.coerce.number(),
  status: z.coerce.number(),
  error_type: z.string(),
  source: z.string(),
  service_tier: z.string(),
  cached_tokens: z.coerce.number(),
  tags: z.array(z.string()),
  key_alias: z.string(),
});

async function recordsOf(batchId: string) {
  await waitForQueueIdle(t.app.spendProducer.queue);
  return t.app.warehouse.rows(
    sql`SELECT request_id, cost_nano, list_cost_nano, status, error_type, source, service_tier, cached_tokens, tags, key_alias
        FROM spend_logs WHERE position(request_id, ${`${batchId}:`}) = 1 ORDER BY request_id`,
    recordRow,
  );
}

// One line: 1000 prompt tokens of which 800 cached, 200 completion tokens. At the batch price (half of
// every list price): 200 × $0.075/M + 800 × $0.0375/M + 200 × $0.30/M = $0.000015 + $0.00003 + $0.00006
// = $0.000105 = 105,000 nano-USD. LiteLLM PR #38341 billed the cached 800 at the batch input rate
// ($0.075/M → $0.00006), i.e. $0.000135.
const CACHED_LINE: LineUsage = { prompt_tokens: 1000, cached_tokens: 800, completion_tokens: 200 };
const CACHED_LINE_NANO = 105_000;

test('create → complete: one record per line at the batch price, exactly once, budget settled exactly', async () => {
  const { secret, client } = await newKey({ key_alias: 'nightly-jobs', max_budget: 10 });
  const file = await upload(client, [chatLine('a'), chatLine('b'), chatLine('c')]);
  assert.equal(file.purpose, 'batch');
  assert.match(fake.fileContent(file.id), /"custom_id":"a"/);

  const batch = await client.batches.create(
    { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'eval' } },
    { headers: { 'x-spend-tags': 'nightly' } },
  );
  assert.equal(batch.status, 'validating');
  const reserved = await keyCounter(secret);
  assert.equal(reserved.spent, 0);
  assert.ok(reserved.reserved > 0, 'the worst case is reserved at creation');

  fake.finish(batch.id, () => ({ usage: CACHED_LINE }));
  const retrieved = await client.batches.retrieve(batch.id);
  assert.equal(retrieved.status, 'completed');
  const output = await client.files.content(retrieved.output_file_id ?? '');
  assert.equal((await output.text()).trim().split('\n').length, 3);

  const pass = await t.app.batchPoller.pollOnce();
  assert.deepEqual(pass?.settled, [batch.id]);
  const rows = await recordsOf(batch.id);
  assert.equal(rows.length, 3);
  for (const row of rows) {
    assert.equal(row.cost_nano, CACHED_LINE_NANO, 'cached tokens at the cache-read rate × 0.5 (PR #38341)');
    assert.equal(row.status, 200);
    assert.equal(row.source, 'batch');
    assert.equal(row.service_tier, 'batch');
    assert.equal(row.cached_tokens, 800);
    assert.deepEqual(row.tags, ['nightly']);
    assert.equal(row.key_alias, 'nightly-jobs');
  }
  const settled = await keyCounter(secret);
  assert.deepEqual({ spent: settled.spent, reserved: settled.reserved }, { spent: 3 * CACHED_LINE_NANO, reserved: 0 });

  // Settled batches are not polled again; nothing is written twice.
  const again = await t.app.batchPoller.pollOnce();
  assert.deepEqual(again?.settled, []);
  assert.equal((await recordsOf(batch.id)).length, 3);
  const listed = await client.batches.list();
  assert.equal(listed.data.find((b) => b.id === batch.id)?.status, 'completed');
});

test('a batch that would break a hard budget is refused with 429 before it reaches OpenAI', async () => {
  // 3 lines × (~30 prompt-bound tokens at $0.075/M + 100 output tokens at $0.30/M) ≈ $0.0001: over $0.00005.
  const { client } = await newKey({ key_alias: 'tiny', max_budget: 0.00005 });
  const file = await upload(client, [chatLine('a'), chatLine('b'), chatLine('c')]);
  const creates = fake.requests.filter((r) => r.path === '/v1/batches').length;
  await assert.rejects(
    client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 429);
      assert.match(err.message, /Budget exceeded for key tiny: this batch may cost up to \$0\.0000/);
      return true;
    },
  );
  assert.equal(fake.requests.filter((r) => r.path === '/v1/batches').length, creates, 'never forwarded');
});

test('cancelled and expired batches: records for the lines that ran, the rest at $0, the reservation released', async () => {
  const { secret, client } = await newKey({ key_alias: 'partial', max_budget: 10 });
  const lines = [chatLine('1'), chatLine('2'), chatLine('3'), chatLine('4')];
  const cancelled = await client.batches.create({
    input_file_id: (await upload(client, lines)).id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  const expired = await client.batches.create({
    input_file_id: (await upload(client, lines)).id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  assert.equal((await client.batches.cancel(cancelled.id)).status, 'cancelling');
  // The first cancelled line ran but OpenAI refused it (a 400 in the output): a record with no cost.
  fake.stop(cancelled.id, 'cancelled', 2, (id) =>
    id === '1' ? { status: 400, message: 'bad request' } : { usage: CACHED_LINE },
  );
  fake.stop(expired.id, 'expired', 3, () => ({ usage: CACHED_LINE }));

  const pass = await t.app.batchPoller.pollOnce();
  assert.deepEqual(new Set(pass?.settled), new Set([cancelled.id, expired.id]));
  const c = await recordsOf(cancelled.id);
  assert.equal(c.length, 4);
  assert.deepEqual(c.map((r) => r.status).sort(), [200, 400, 499, 499]);
  assert.equal(c.filter((r) => r.error_type === 'batch_cancelled').length, 2);
  assert.equal(
    c.reduce((sum, r) => sum + r.cost_nano, 0),
    CACHED_LINE_NANO,
  );
  const e = await recordsOf(expired.id);
  assert.deepEqual(e.map((r) => r.status).sort(), [200, 200, 200, 408]);
  assert.equal(
    e.reduce((sum, r) => sum + r.cost_nano, 0),
    3 * CACHED_LINE_NANO,
  );
  const counter = await keyCounter(secret);
  assert.deepEqual({ spent: counter.spent, reserved: counter.reserved }, { spent: 4 * CACHED_LINE_NANO, reserved: 0 });
});

test('a poller that dies before marking the batch settled: the next one writes nothing twice', async () => {
  const { secret, client } = await newKey({ key_alias: 'crashy', max_budget: 10 });
  const batch = await client.batches.create({
    input_file_id: (await upload(client, [chatLine('x'), chatLine('y')])).id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  fake.finish(batch.id, () => ({ usage: CACHED_LINE }));
  const store = new BatchStore(t.app.warehouse);
  const upstream = new BatchUpstream();
  const pollerWith = (batchStore: BatchStore) =>
    new BatchPoller({
      store: batchStore,
      upstream,
      accounts: batchAccounts(t.config),
      redis: t.app.redis,
      enqueue: async (records, jobId) => {
        await t.app.spendProducer.enqueue(records, 'ingest', jobId);
      },
      charge: t.app.budgetCharger,
      ledger: t.app.budgetLedger,
      log: t.app.log,
    });
  // Dies after queuing the records and charging the budget, before the batch is marked settled.
  const dying = Object.create(store) as BatchStore;
  dying.putBatch = async () => {
    throw new Error('killed');
  };
  const first = await pollerWith(dying).pollOnce();
  assert.deepEqual(first?.settled, []);
  // Its records are stored before the next poller queues them again (the jobs are gone by then: the ingest
  // worker's check against ClickHouse is what keeps them from counting twice).
  assert.equal((await recordsOf(batch.id)).length, 2);
  const second = await pollerWith(store).pollOnce();
  assert.ok(second?.settled.includes(batch.id));
  await upstream.close();

  const rows = await recordsOf(batch.id);
  assert.equal(rows.length, 2);
  assert.equal(new Set(rows.map((r) => r.request_id)).size, 2);
  const counter = await keyCounter(secret);
  assert.deepEqual({ spent: counter.spent, reserved: counter.reserved }, { spent: 2 * CACHED_LINE_NANO, reserved: 0 });
});

test('files and batches are the creating key’s; lists page with after/limit', async () => {
  const { client } = await newKey({ key_alias: 'owner' });
  const { client: other } = await newKey({ key_alias: 'stranger' });
  const first = await upload(client, [chatLine('p1')]);
  const second = await upload(client, [chatLine('p2')]);
  const page = await client.files.list({ limit: 1 });
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0]?.id, second.id, 'newest first');
  const next = await client.files.list({ limit: 1, after: second.id });
  assert.equal(next.data[0]?.id, first.id);
  assert.equal((await other.files.list()).data.length, 0);
  await assert.rejects(other.files.retrieve(first.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
  await assert.rejects(
    other.batches.create({ input_file_id: first.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    (err: unknown) => err instanceof OpenAI.NotFoundError,
  );
  assert.equal((await client.files.retrieve(first.id)).id, first.id);
  assert.equal((await client.files.delete(first.id)).deleted, true);
  await assert.rejects(client.files.retrieve(first.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
});
