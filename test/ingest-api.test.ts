// POST /ingest/v1/records against real Redis + ClickHouse: 10k records exactly once, the same payload twice
// counted once, per-record results, NDJSON + gzip, LiteLLM StandardLoggingPayload / SpendLogs input.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { expectedCost, spendRecord, spendTotals, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const auth = { authorization: `Bearer ${TEST_MASTER_KEY}` };

interface IngestResponse {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: { index: number; request_id: string | null; status: string; errors?: { field: string; reason: string }[] }[];
}

describe('ingest API', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(testConfig({ general_settings: { store_prompts_in_spend_logs: true } }));
  });
  after(async () => {
    await t.close();
  });

  const post = async (payload: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      payload,
    });
    return { status: res.statusCode, body: res.json() as IngestResponse };
  };

  test('10k records land exactly once; the same payload again is all duplicates', async () => {
    const records = Array.from({ length: 10_000 }, (_, i) => spendRecord('api10k', i, { source: 'ingest' }));
    const payload = JSON.stringify(records);
    const first = await post(payload);
    assert.equal(first.status, 200);
    assert.equal(first.body.accepted, 10_000);
    const again = await post(payload);
    assert.equal(again.body.accepted, 0);
    assert.equal(again.body.duplicate, 10_000);
    await waitForRows(t.app.warehouse, 10_000, 'api10k-');
    await waitForQueueIdle(t.app.spendProducer.queue);
    const totals = await spendTotals(t.app.warehouse, 'api10k-');
    assert.deepEqual(totals, { n: 10_000, distinct_ids: 10_000, cost: expectedCost(10_000) });
    // After the Redis claims are gone, ClickHouse itself answers "duplicate".
    await t.app.redis.del(...records.slice(0, 10).map((r) => `ingest:claim:${r.request_id}`));
    const late = await post(JSON.stringify(records.slice(0, 10)));
    assert.equal(late.body.duplicate, 10);
  });

  test('NDJSON + gzip, per-record results: one bad record never sinks the good ones', async () => {
    const good = spendRecord('mixed', 1, { source: 'ingest' });
    const lines = [
      JSON.stringify(good),
      JSON.stringify({ ...spendRecord('mixed', 2), prompt_tokens: -5 }),
      '{not json',
      JSON.stringify(good),
      JSON.stringify({
        request_id: 'mixed-3',
        start_time: '2026-01-02T03:04:05Z',
        model: 'gpt-4o',
        cost_usd: '0.001010000',
      }),
    ].join('\n');
    const res = await post(gzipSync(lines), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.results.map((r) => r.status),
      ['accepted', 'rejected', 'rejected', 'duplicate', 'accepted'],
    );
    assert.equal(res.body.results[1]?.errors?.[0]?.field, 'prompt_tokens');
    assert.equal(res.body.results[2]?.errors?.[0]?.field, '(line)');
    await waitForRows(t.app.warehouse, 2, 'mixed-');
    const rows = await t.app.warehouse.rows(
      sql`SELECT cost_nano, cost_status, source FROM spend_logs WHERE request_id = 'mixed-3'`,
      z.object({ cost_nano: z.coerce.number(), cost_status: z.string(), source: z.string() }),
    );
    assert.deepEqual(rows, [{ cost_nano: 1_010_000, cost_status: 'provided', source: 'ingest' }]);
  });

  test('a time past what a date can hold is rejected naming the field (was a bare 500)', async () => {
    const record = { ...spendRecord('fardate', 1, { source: 'ingest' }) } as Record<string, unknown>;
    for (const [field, value] of [
      ['end_time', 8_640_000_000_000_001],
      ['start_time', -1e300],
    ] as const) {
      const res = await post(JSON.stringify([{ ...record, [field]: value }]));
      assert.equal(res.status, 200);
      assert.equal(res.body.results[0]?.status, 'rejected');
      assert.equal(res.body.results[0]?.errors?.[0]?.field, field);
    }
  });

  test('LiteLLM StandardLoggingPayload and SpendLogs rows are accepted; missing cost is priced server-side', async () => {
    const standard = {
      id: 'chatcmpl-litellm-1',
      call_type: 'acompletion',
      stream: false,
      response_cost: 0.00042,
      status: 'success',
      custom_llm_provider: 'openai',
      total_tokens: 30,
      prompt_tokens: 20,
      completion_tokens: 10,
      startTime: 1764230400.123,
      endTime: 1764230401.5,
      completionStartTime: 1764230401.0,
      model: 'gpt-4o-2024-08-06',
      model_group: 'gpt-4o',
      metadata: {
        user_api_key_hash: 'abc123hash',
        user_api_key_alias: 'ci-key',
        user_api_key_team_id: 'team-ml',
        user_api_key_user_id: 'alice',
        user_api_key_end_user_id: 'acme',
        spend_logs_metadata: { job: 'nightly', retries: 2 },
      },
      request_tags: ['prod', 'batch', 'prod'],
      messages: [{ role: 'user', content: 'hi' }],
      response: { id: 'chatcmpl-litellm-1', choices: [] },
    };
    const spendLogRow = {
      request_id: 'litellm-spendlog-1',
      call_type: 'aembedding',
      api_key: 'hashed-token',
      total_tokens: 1000,
      prompt_tokens: 1000,
      completion_tokens: 0,
      startTime: '2026-11-27T10:00:00.000Z',
      endTime: '2026-11-27T10:00:00.250Z',
      model: 'text-embedding-3-small',
      custom_llm_provider: 'openai',
      user: 'bob',
      team_id: 'team-search',
      end_user: '',
      request_tags: '["search"]',
    };
    const res = await post(JSON.stringify([standard, spendLogRow]));
    assert.deepEqual(
      res.body.results.map((r) => [r.request_id, r.status]),
      [
        ['chatcmpl-litellm-1', 'accepted'],
        ['litellm-spendlog-1', 'accepted'],
      ],
    );
    await waitForRows(t.app.warehouse, 1, 'chatcmpl-litellm-1');
    await waitForRows(t.app.warehouse, 1, 'litellm-spendlog-1');
    const row = z.object({
      request_id: z.string(),
      call_type: z.string(),
      key_hash: z.string(),
      team_id: z.string(),
      user_id: z.string(),
      customer_id: z.string(),
      model: z.string(),
      upstream_model: z.string(),
      cost_nano: z.coerce.number(),
      cost_status: z.string(),
      tags: z.array(z.string()),
      duration_ms: z.coerce.number(),
      metadata_keys: z.array(z.string()),
      metadata_values: z.array(z.string()),
    });
    const rows = await t.app.warehouse.rows(
      sql`SELECT request_id, call_type, key_hash, team_id, user_id, customer_id, model, upstream_model, cost_nano,
                 cost_status, tags, duration_ms, metadata_keys, metadata_values
          FROM spend_logs WHERE request_id IN ('chatcmpl-litellm-1', 'litellm-spendlog-1') ORDER BY request_id`,
      row,
    );
    assert.deepEqual(rows[0], {
      request_id: 'chatcmpl-litellm-1',
      call_type: 'chat',
      key_hash: 'abc123hash',
      team_id: 'team-ml',
      user_id: 'alice',
      customer_id: 'acme',
      model: 'gpt-4o',
      upstream_model: 'gpt-4o-2024-08-06',
      cost_nano: 420_000,
      cost_status: 'provided',
      tags: ['batch', 'prod'],
      duration_ms: 1377,
      metadata_keys: ['job', 'retries'],
      metadata_values: ['nightly', '2'],
    });
    const embedding = rows[1];
    assert.equal(embedding?.call_type, 'embedding');
    assert.equal(embedding?.key_hash, 'hashed-token');
    assert.equal(embedding?.customer_id, '');
    assert.deepEqual(embedding?.tags, ['search']);
    // No cost given: priced from the bundled catalog (text-embedding-3-small is $0.02 / 1M tokens).
    assert.equal(embedding?.cost_status, 'priced');
    assert.equal(embedding?.cost_nano, 20_000);
    const payloads = await t.app.warehouse.rows(
      sql`SELECT messages FROM spend_payloads WHERE request_id = 'chatcmpl-litellm-1'`,
      z.object({ messages: z.string() }),
    );
    assert.deepEqual(payloads, [{ messages: '[{"role":"user","content":"hi"}]' }]);
  });

  test('needs the master key; refuses bodies that are not JSON', async () => {
    const anonymous = await t.app.inject({ method: 'POST', url: '/ingest/v1/records', payload: '[]' });
    assert.equal(anonymous.statusCode, 401);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '[1, 2',
    });
    assert.equal(bad.statusCode, 400);
  });
});
