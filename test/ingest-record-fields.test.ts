// Issue 19's record fields on the ingest API: accepted and stored when given, defaulted when not (list cost =
// the cost given, price source `caller`), and refused by name when they break the contract (a negative cost
// or `corrects_request_id` outside a correction, a unit price that is not an exact decimal).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { ADDED_FIELD_DEFAULTS, spendRecordSchema, storableRecord } from '../src/spendRecord.js';
import { spendRecord, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';

interface Result {
  status: string;
  errors?: { field: string; reason: string }[];
}

describe('ingest API: pricing fields', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => t?.close());

  const post = async (records: unknown[]) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify(records),
    });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { results: Result[] }).results;
  };

  test('given fields are stored; omitted ones take the defaults', async () => {
    const full = {
      ...spendRecord('fields', 1, { source: 'ingest', cost_nano: 900 }),
      cache_write_1h_tokens: 3,
      audio_input_tokens: 4,
      web_search_requests: 1,
      service_tier: 'flex',
      list_cost_nano: 1000,
      provider_cost_nano: 950,
      price_source: 'provider',
      price_version: 'openrouter',
      unit_prices: { input: '0.0000025', multiplier: '0.9' },
    };
    const { request_id, start_time, model, cost_nano } = spendRecord('fields', 2, { source: 'ingest' });
    const results = await post([full, { request_id, start_time, model, cost_nano }]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['accepted', 'accepted'],
    );
    await waitForRows(t.app.warehouse, 2, 'fields-');
    await waitForQueueIdle(t.app.spendProducer.queue);
    const rows = await t.app.warehouse.rows(
      sql`SELECT request_id, cache_write_1h_tokens, audio_input_tokens, web_search_requests, service_tier,
            list_cost_nano, provider_cost_nano, price_source, price_version, unit_prices, corrects_request_id
          FROM spend_logs WHERE request_id IN ('fields-1', 'fields-2') ORDER BY request_id`,
      z.object({
        request_id: z.string(),
        cache_write_1h_tokens: z.coerce.number(),
        audio_input_tokens: z.coerce.number(),
        web_search_requests: z.coerce.number(),
        service_tier: z.string(),
        list_cost_nano: z.coerce.number(),
        provider_cost_nano: z.coerce.number().nullable(),
        price_source: z.string(),
        price_version: z.string(),
        unit_prices: z.string(),
        corrects_request_id: z.string(),
      }),
    );
    assert.deepEqual(rows, [
      {
        request_id: 'fields-1',
        cache_write_1h_tokens: 3,
        audio_input_tokens: 4,
        web_search_requests: 1,
        service_tier: 'flex',
        list_cost_nano: 1000,
        provider_cost_nano: 950,
        price_source: 'provider',
        price_version: 'openrouter',
        unit_prices: '{"input":"0.0000025","multiplier":"0.9"}',
        corrects_request_id: '',
      },
      {
        request_id: 'fields-2',
        cache_write_1h_tokens: 0,
        audio_input_tokens: 0,
        web_search_requests: 0,
        service_tier: '',
        list_cost_nano: cost_nano,
        provider_cost_nano: null,
        price_source: 'caller',
        price_version: '',
        unit_prices: '{}',
        corrects_request_id: '',
      },
    ]);
  });

  test('a record breaking the contract is refused naming the field', async () => {
    const base = spendRecord('badfields', 1, { source: 'ingest' });
    const cases: [Record<string, unknown>, string][] = [
      [{ cost_nano: -5 }, 'cost_nano'],
      [{ list_cost_nano: -5 }, 'list_cost_nano'],
      // The ingest API writes ingest records: a correction cannot come in through it.
      [{ source: 'correction', corrects_request_id: 'x', cost_nano: -5 }, 'cost_nano'],
      [{ corrects_request_id: 'other-call' }, 'corrects_request_id'],
      [{ unit_prices: { input: '1e-6' } }, 'unit_prices.input'],
      [{ unit_prices: { lunch: '1' } }, 'unit_prices'],
      [{ service_tier: 'x'.repeat(33) }, 'service_tier'],
      [{ price_source: 'guess' }, 'price_source'],
      [{ audio_output_tokens: -1 }, 'audio_output_tokens'],
    ];
    const results = await post(cases.map(([fields], i) => ({ ...base, request_id: `badfields-${i}`, ...fields })));
    assert.deepEqual(
      results.map((r) => [r.status, r.errors?.[0]?.field]),
      cases.map(([, field]) => ['rejected', field]),
    );
  });

  test('a record from before the fields existed (a dead letter, a queued row) reads with the defaults', () => {
    const {
      cache_write_1h_tokens,
      audio_input_tokens,
      image_input_tokens,
      audio_output_tokens,
      image_output_tokens,
      web_search_requests,
      service_tier,
      list_cost_nano,
      provider_cost_nano,
      price_source,
      price_version,
      unit_prices,
      corrects_request_id,
      ...old
    } = spendRecord('old', 1, { cost_nano: 77 });
    const parsed = spendRecordSchema.parse(old);
    assert.deepEqual(parsed, { ...old, ...ADDED_FIELD_DEFAULTS, list_cost_nano: 77 });
  });

  test('a correction record carries a signed delta and names the record it corrects, and only it does', () => {
    const correction = { ...spendRecord('corr', 1), source: 'correction', cost_nano: -7, list_cost_nano: -7 };
    assert.deepEqual(
      spendRecordSchema.safeParse(correction).error?.issues.map((i) => i.path.join('.')),
      ['corrects_request_id'],
    );
    assert.equal(spendRecordSchema.safeParse({ ...correction, corrects_request_id: 'corr-0' }).success, true);
  });
});

test('service tier, price version and corrected id are stored as safe names (control and bidi characters replaced)', () => {
  const record = spendRecordSchema.parse({
    ...spendRecord('safe', 1, { source: 'correction', cost_nano: -5 }),
    service_tier: 'fl\u0000ex',
    price_version: 'config:gpt\u202e@always',
    corrects_request_id: 'req\u001b[31m',
  });
  const stored = storableRecord(record);
  assert.equal(stored.service_tier, 'fl\uFFFDex');
  assert.equal(stored.price_version, 'config:gpt\uFFFD@always');
  assert.equal(stored.corrects_request_id, 'req\uFFFD[31m');
});
