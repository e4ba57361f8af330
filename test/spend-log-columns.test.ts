// The spend_logs columns declared once (src/spendLogColumns.ts) against the table the migrations build, and
// issue 19's fields end to end: a record with every new field is stored, read back by the logs endpoint and
// as a record; the pricing rollup (057) sums every dimension; a row written before migration 056 reads with
// the defaults and is in 057's backfill.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { loadMigrations, migrate, renderMigration } from '../src/clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { sql } from '../src/clickhouse/sql.js';
import { BatchEncoder, EncodedRows, toSpendLogRow } from '../src/ingest/rows.js';
import { catalogSql } from '../src/query/catalog.js';
import { LOG_COLUMNS, logRowSchema, toLogEntry } from '../src/query/logs/logRows.js';
import { createRedis } from '../src/redis/plugin.js';
import { COLUMN_LIST, decodeUnitPrices, encodeUnitPrices } from '../src/spendLogColumns.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { spendRecord } from './helpers/ingestRecords.js';
import { adminGet, dropTestState, startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

const priced = (i: number, overrides: Partial<SpendRecord> = {}): SpendRecord =>
  spendRecord('pricing', i, {
    team_id: 'team-p',
    model: 'claude-sonnet-4',
    provider: 'anthropic',
    prompt_tokens: 1000,
    completion_tokens: 200,
    cached_tokens: 300,
    cache_write_tokens: 500,
    cache_write_1h_tokens: 200,
    audio_input_tokens: 7,
    image_input_tokens: 11,
    audio_output_tokens: 13,
    image_output_tokens: 17,
    web_search_requests: 2,
    service_tier: 'priority',
    cost_nano: 9_000_000,
    list_cost_nano: 10_000_000,
    provider_cost_nano: 9_500_000,
    price_source: 'config',
    price_version: 'config:claude-sonnet-4@2026-01-01',
    unit_prices: { input: '0.000003', cache_write_1h: '0.000006', output: '0.000015', multiplier: '0.9' },
    status: 200,
    error_type: null,
    ...overrides,
  });

describe('spend_logs columns', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => t?.close());

  it('the declaration is the table ClickHouse reports after the migrations, column by column', async () => {
    const described = await t.app.warehouse.rows(
      sql`DESCRIBE TABLE spend_logs`,
      z.object({ name: z.string(), type: z.string() }),
    );
    // By name: 18.16 lists MATERIALIZED columns (tags_hash) after the others, current servers in table order.
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    assert.deepEqual(
      COLUMN_LIST.map((c) => ({ name: c.name, type: c.type })).sort(byName),
      described.map((c) => ({ name: c.name, type: c.type })).sort(byName),
    );
  });

  it('unit prices are stored as one JSON spelling and read back as the object', () => {
    const prices = { output: '0.000015', input: '0.000003', multiplier: '1' } as const;
    assert.equal(encodeUnitPrices(prices), '{"input":"0.000003","multiplier":"1","output":"0.000015"}');
    assert.deepEqual(decodeUnitPrices(encodeUnitPrices(prices)), prices);
    assert.deepEqual(decodeUnitPrices(''), {});
    assert.deepEqual(decodeUnitPrices('{"input":1e-6}'), {});
  });

  it('a record with every new field is stored and read back as it was, by the logs endpoint and as a record', async () => {
    const record = priced(1);
    const correction = priced(2, {
      request_id: 'pricing-2-correction',
      source: 'correction',
      corrects_request_id: 'pricing-1',
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      cached_tokens: 0,
      cache_write_tokens: 0,
      cache_write_1h_tokens: 0,
      cost_nano: -1_234,
      list_cost_nano: -1_371,
      provider_cost_nano: null,
    });
    const encoder = BatchEncoder.of([record, correction]);
    assert.deepEqual(encoder.refused, []);
    // What the queue holds reads back as the record (dead letters).
    assert.deepEqual(EncodedRows.fromText(encoder.rows()).record(1), {
      ...correction,
      tags: [...correction.tags].sort(),
    });
    await t.app.warehouse.insert('spend_logs', [toSpendLogRow(record, 1), toSpendLogRow(correction, 1)]);

    const detail = async (id: string) => {
      const { status, body } = await adminGet(t.app, `/spend/logs/v2/${id}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body;
    };
    const call = await detail('pricing-1');
    for (const field of [
      'cache_write_tokens',
      'cache_write_1h_tokens',
      'audio_input_tokens',
      'image_input_tokens',
      'audio_output_tokens',
      'image_output_tokens',
      'web_search_requests',
      'service_tier',
      'list_cost_nano',
      'provider_cost_nano',
      'price_source',
      'price_version',
      'unit_prices',
      'corrects_request_id',
    ] as const) {
      assert.deepEqual(call[field], record[field], field);
    }
    assert.equal(call.list_cost_usd, '0.010000000');
    assert.equal(call.provider_cost_usd, '0.009500000');
    const fix = await detail('pricing-2-correction');
    assert.equal(fix.source, 'correction');
    assert.equal(fix.corrects_request_id, 'pricing-1');
    assert.equal(fix.cost_nano, -1_234);
    assert.equal(fix.cost_usd, '-0.000001234');
    assert.equal(fix.provider_cost_nano, null);
  });

  it('the pricing rollup sums every dimension per day × team × model × provider × tier × price source × source', async () => {
    const records = [priced(10), priced(11, { service_tier: 'flex', cost_nano: 5, list_cost_nano: 7 }), priced(12)];
    await t.app.warehouse.insert(
      'spend_logs',
      records.map((r) => toSpendLogRow(r, 1)),
    );
    const rows = await t.app.warehouse.rows(
      sql`SELECT service_tier, source, sum(requests) AS requests, sum(corrections) AS corrections,
            toString(sum(cost_nano)) AS cost, toString(sum(list_cost_nano)) AS list_cost,
            toString(sum(provider_reported_nano)) AS provider_cost, sum(provider_reported) AS provider_costed,
            sum(cache_write_1h_tokens) AS cw1h, sum(audio_input_tokens) AS ai, sum(image_output_tokens) AS io,
            sum(web_search_requests) AS ws
          FROM spend_pricing_daily WHERE team_id = 'team-p' AND price_source = 'config'
          GROUP BY service_tier, source ORDER BY service_tier, source`,
      z.object({
        service_tier: z.string(),
        source: z.string(),
        requests: z.coerce.number(),
        corrections: z.coerce.number(),
        cost: z.string(),
        list_cost: z.string(),
        provider_cost: z.string(),
        provider_costed: z.coerce.number(),
        cw1h: z.coerce.number(),
        ai: z.coerce.number(),
        io: z.coerce.number(),
        ws: z.coerce.number(),
      }),
    );
    assert.deepEqual(rows, [
      {
        service_tier: 'flex',
        source: 'proxy',
        requests: 1,
        corrections: 0,
        cost: '5',
        list_cost: '7',
        provider_cost: '9500000',
        provider_costed: 1,
        cw1h: 200,
        ai: 7,
        io: 17,
        ws: 2,
      },
      // pricing-1 and the two above, the correction with its signed delta in its own row.
      {
        service_tier: 'priority',
        source: 'correction',
        requests: 0,
        corrections: 1,
        cost: '-1234',
        list_cost: '-1371',
        provider_cost: '0',
        provider_costed: 0,
        cw1h: 0,
        ai: 7,
        io: 17,
        ws: 2,
      },
      {
        service_tier: 'priority',
        source: 'proxy',
        requests: 3,
        corrections: 0,
        cost: '27000000',
        list_cost: '30000000',
        provider_cost: '28500000',
        provider_costed: 3,
        cw1h: 600,
        ai: 21,
        io: 51,
        ws: 6,
      },
    ]);
  });
});

it('rows written before migrations 056/057 read with the defaults and are in the backfilled pricing rollup', async (t) => {
  const config = testConfig();
  t.after(() => dropTestState(config));
  await ensureDatabase(config.clickhouse);
  const warehouse = createWarehouse(config.clickhouse);
  const redis = createRedis(config.redis);
  t.after(async () => {
    await warehouse.client.close();
    redis.disconnect();
  });
  await migrate(
    warehouse,
    redis,
    loadMigrations().filter((m) => m.version < 56),
  );
  const row = toSpendLogRow(spendRecord('old', 1, { team_id: 'team-old', cost_nano: 4_242, status: 200 }), 1);
  const lastOld = COLUMN_LIST.findIndex((c) => c.name === 'tags_hash');
  const oldColumns = new Set<string>(COLUMN_LIST.slice(0, lastOld).map((c) => c.name));
  await warehouse.insert('spend_logs', [Object.fromEntries(Object.entries(row).filter(([k]) => oldColumns.has(k)))]);
  await migrate(warehouse, redis);

  const [stored] = await warehouse.rows(
    sql`SELECT ${catalogSql(LOG_COLUMNS)} FROM spend_logs WHERE request_id = 'old-1'`,
    logRowSchema,
  );
  assert.ok(stored);
  const call = toLogEntry(stored);
  assert.equal(call.list_cost_nano, 4_242);
  assert.equal(call.provider_cost_nano, null);
  assert.equal(call.cache_write_1h_tokens, 0);
  assert.equal(call.service_tier, '');
  assert.equal(call.price_source, '');
  assert.deepEqual(call.unit_prices, {});
  assert.equal(call.corrects_request_id, null);
  const rollup = await warehouse.rows(
    sql`SELECT sum(requests) AS requests, toString(sum(cost_nano)) AS cost, toString(sum(list_cost_nano)) AS list
        FROM spend_pricing_daily WHERE team_id = 'team-old'`,
    z.object({ requests: z.coerce.number(), cost: z.string(), list: z.string() }),
  );
  assert.deepEqual(rollup, [{ requests: 1, cost: '4242', list: '4242' }]);
});

it('on a cluster, 056 adds each column to the local table of every shard and 057 rolls up the local rows', () => {
  const [m056, m057] = loadMigrations().filter((m) => m.version === 56 || m.version === 57);
  assert.ok(m056 && m057);
  const added = renderMigration(m056.text, 'spendhouse', 'db1');
  const issue19 = COLUMN_LIST.slice(COLUMN_LIST.findIndex((c) => c.name === 'tags_hash') + 1);
  assert.deepEqual(
    added,
    issue19.map(
      (c) =>
        `ALTER TABLE \`db1\`.spend_logs_local ON CLUSTER \`spendhouse\` ADD COLUMN ${c.name} ${c.type}${c.name === 'list_cost_nano' ? ' DEFAULT cost_nano' : ''}`,
    ),
  );
  const rollup = renderMigration(m057.text, 'spendhouse', 'db1');
  assert.match(
    rollup[0] ?? '',
    /^CREATE TABLE IF NOT EXISTS `db1`\.spend_pricing_daily_local ON CLUSTER .*ReplicatedSummingMergeTree/s,
  );
  assert.match(rollup[1] ?? '', /ENGINE = Distributed\(`spendhouse`, `db1`, spend_pricing_daily_local/);
  assert.match(rollup[2] ?? '', /^INSERT INTO spend_pricing_daily\s/);
  assert.match(rollup[3] ?? '', /TO `db1`\.spend_pricing_daily_local AS\s.*\sFROM `db1`\.spend_logs_local\s/s);
});
