// FOCUS 1.2 export: one row per call and charged dimension, with the quantities pricing itself uses, the
// record's unit prices, and BilledCost adding up to Spendhouse's total to the nano-USD — through the
// archive exporter into the local store, read back by DuckDB as Parquet and as CSV; corrections as
// ChargeClass Correction; the CLI command and the Athena DDL.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { focusAthenaDdl } from '../src/archive/athenaDdl.js';
import { FOCUS_COLUMNS, QUANTITIES_SQL } from '../src/archive/focus.js';
import { objectKey } from '../src/archive/layout.js';
import { duckString, openDuckDb } from '../src/archive/windowWriter.js';
import { modelPricing } from '../src/pricing/modelPricing.js';
import { priceCall } from '../src/pricing/priceCall.js';
import { quantities } from '../src/pricing/sheet.js';
import { type TokenUsage, ZERO_USAGE } from '../src/pricing/usage.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { archiveConfig, BASE, HOUR, insertRecords, record, runCli } from './archive.fixtures.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

const usageOf = (u: Partial<TokenUsage>): TokenUsage => ({ ...ZERO_USAGE, ...u });

/** A record priced by the pricing module itself (from the catalog; gpt-4o with a 10% discount unless told). */
function priced(
  i: number,
  startSeconds: number,
  usage: TokenUsage,
  overrides: Partial<SpendRecord> = {},
  model = 'gpt-4o',
  discount = 0.1,
): SpendRecord {
  const pricing = modelPricing({ name: model, model, providerId: 'openai', useCatalog: true, config: { discount } });
  const cost = priceCall(pricing.at(new Date(startSeconds * 1000)), usage);
  return record(i, startSeconds, {
    model,
    upstream_model: model,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    cached_tokens: usage.cachedTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    cache_write_1h_tokens: usage.cacheWrite1hTokens,
    reasoning_tokens: usage.reasoningTokens,
    audio_input_tokens: usage.audioInputTokens,
    web_search_requests: usage.webSearchRequests,
    ...cost,
    ...overrides,
  });
}

describe('FOCUS export', () => {
  let t: TestApp;
  let root: string;
  const records: SpendRecord[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'archive-focus-'));
    t = await startTestApp(
      archiveConfig({ archive: { local_path: root, formats: ['parquet', 'focus_parquet', 'focus_csv'] } }),
    );
    for (let i = 0; i < 60; i++) {
      records.push(
        priced(
          i,
          BASE + (i % 2) * HOUR + i,
          usageOf({
            promptTokens: 1000 + i * 37,
            completionTokens: 200 + i * 11,
            cachedTokens: i % 3 ? 300 : 0,
            cacheWriteTokens: i % 4 === 0 ? 120 : 0,
            cacheWrite1hTokens: i % 8 === 0 ? 40 : 0,
            reasoningTokens: i % 5 ? 50 : 0,
            audioInputTokens: i % 7 === 0 ? 30 : 0,
          }),
        ),
      );
    }
    // A refused call (nothing charged: no rows) and a re-pricing correction of call 1 (one Correction row).
    records.push(
      record(900, BASE + 10, {
        status: 429,
        error_type: 'budget_exceeded',
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cost_nano: 0,
        list_cost_nano: 0,
      }),
    );
    records.push(
      record(901, BASE + 20, {
        source: 'correction',
        corrects_request_id: records[1]?.request_id ?? null,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cost_nano: -12_345,
        list_cost_nano: -12_345,
      }),
    );
    // Calls whose FOCUS rows are easy to get wrong: another price set, a huge cost (shares near 2^53), a cost
    // the caller gave with nothing priced (one `call` row), and tags FOCUS must escape and merge.
    const usage = usageOf({ promptTokens: 5000, completionTokens: 700, cachedTokens: 1200, reasoningTokens: 300 });
    records.push(priced(950, BASE + 30, usage, {}, 'gpt-4o-mini', 0));
    records.push(priced(951, BASE + 31, usage, { cost_nano: 4_000_000_000_000_123 }));
    records.push(
      record(952, BASE + 32, { unit_prices: {}, cost_nano: 5_000_000, list_cost_nano: 0, cost_status: 'provided' }),
    );
    records.push(
      priced(953, BASE + 33, usage, {
        user_id: 'u"1\\',
        customer_id: null,
        tags: ['env:prod', 'env:dev', 'bare', 'quote:"x"\\y', 'a:b:c', 'ü:✓', 'tab:\t'],
      }),
    );
    await insertRecords(t.app, records, BASE + 3 * HOUR);
  });
  after(async () => {
    await t?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the SQL split of tokens into dimensions is pricing’s own (property test)', async () => {
    const db = await openDuckDb(root);
    const conn = await db.connect();
    try {
      const count = fc.nat({ max: 5000 });
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            promptTokens: count,
            completionTokens: count,
            cachedTokens: count,
            cacheWriteTokens: count,
            cacheWrite1hTokens: count,
            reasoningTokens: count,
            audioInputTokens: count,
            imageInputTokens: count,
            audioOutputTokens: count,
            imageOutputTokens: count,
            webSearchRequests: fc.nat({ max: 3 }),
          }),
          async (u) => {
            const usage = usageOf(u);
            const row = await conn.runAndReadAll(
              `SELECT ${QUANTITIES_SQL} FROM (SELECT ${u.promptTokens}::BIGINT AS prompt_tokens, ${u.completionTokens}::BIGINT AS completion_tokens,
                ${u.cachedTokens}::BIGINT AS cached_tokens, ${u.cacheWriteTokens}::BIGINT AS cache_write_tokens,
                ${u.cacheWrite1hTokens}::BIGINT AS cache_write_1h_tokens, ${u.reasoningTokens}::BIGINT AS reasoning_tokens,
                ${u.audioInputTokens}::BIGINT AS audio_input_tokens, ${u.imageInputTokens}::BIGINT AS image_input_tokens,
                ${u.audioOutputTokens}::BIGINT AS audio_output_tokens, ${u.imageOutputTokens}::BIGINT AS image_output_tokens,
                ${u.webSearchRequests}::BIGINT AS web_search_requests)`,
            );
            const sqlValues = Object.fromEntries(
              row
                .columnNames()
                .map((name, i) => [name, Number(row.getRows()[0]?.[i])])
                .filter(([n]) => String(n).startsWith('q_')),
            );
            const expected = Object.fromEntries(Object.entries(quantities(usage)).map(([d, q]) => [`q_${d}`, q]));
            assert.deepEqual(sqlValues, expected);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  test('exported with the archive: BilledCost adds up to ClickHouse’s total, per call and per window', async () => {
    const pass = await t.app.archive.scheduler.runOnce();
    const keys = pass.results.flatMap((r) => r.objects.map((o) => o.key));
    assert.ok(keys.includes(objectKey('', BASE, 'focus_parquet')), keys.join(' '));
    assert.ok(keys.includes('focus_csv/billing_period=2026-01/part-20260105T1000Z.csv.gz'));
    const db = await openDuckDb(root);
    const conn = await db.connect();
    try {
      const parquet = duckString(join(root, 'focus', '**', '*.parquet'));
      const source = `read_parquet(${parquet}, hive_partitioning = true)`;
      const total = await conn.runAndReadAll(
        `SELECT (sum("BilledCost") * 1000000000)::HUGEINT::VARCHAR, count(*)::VARCHAR, min(billing_period) FROM ${source}`,
      );
      const [billed, rows, period] = (total.getRows()[0] ?? []).map(String);
      assert.equal(billed, String(records.reduce((s, r) => s + r.cost_nano, 0)));
      assert.equal(period, '2026-01');
      // Every call's rows add up to its cost; its list costs, rounded half up, to its list cost.
      const perCall = await conn.runAndReadAll(
        `SELECT "x_RequestId", (sum("BilledCost") * 1000000000)::HUGEINT::VARCHAR,
           round(sum("ListCost") * 1000000000)::HUGEINT::VARCHAR, count(*)::VARCHAR FROM ${source} GROUP BY 1`,
      );
      const byId = new Map(perCall.getRows().map((r) => [String(r[0]), r.slice(1).map(String)]));
      for (const r of records) {
        const got = byId.get(r.request_id);
        if (r.cost_nano === 0 && r.total_tokens === 0) {
          assert.equal(got, undefined, 'a call that charged nothing has no FOCUS row');
          continue;
        }
        assert.equal(got?.[0], String(r.cost_nano), `billed ${r.request_id}`);
        if (r.source !== 'correction') assert.equal(got?.[1], String(r.list_cost_nano), `list ${r.request_id}`);
      }
      assert.equal(
        Number(rows),
        [...byId.values()].reduce((s, v) => s + Number(v[2]), 0),
      );
      // Call 0: 1,000 input tokens of which 80 + 40 cache writes (5 min, 1 h) and 30 audio; 200 output.
      const call0 = await conn.runAndReadAll(
        `SELECT "x_ChargeDimension", "PricingQuantity"::VARCHAR, "ConsumedUnit", "ListUnitPrice"::VARCHAR, "ChargeCategory", "SubAccountId"
           FROM ${source} WHERE "x_RequestId" = '${records[0]?.request_id}' ORDER BY 1`,
      );
      const dims = Object.fromEntries(call0.getRows().map((r) => [String(r[0]), String(r[1])]));
      assert.deepEqual(dims, {
        input: String(1000 - 120 - 30),
        cache_write_5m: '80',
        cache_write_1h: '40',
        audio_input: '30',
        output: '200',
      });
      // Tags: the user and customer, then each tag key with its values (a key given twice: joined by `,`, in
      // the record's tag order — sorted when the record is made).
      const tagsOf = async (id: string | undefined) => {
        const rows = await conn.runAndReadAll(`SELECT DISTINCT "Tags" FROM ${source} WHERE "x_RequestId" = '${id}'`);
        assert.equal(rows.getRows().length, 1, `one Tags value for every row of ${id}`);
        return JSON.parse(String(rows.getRows()[0]?.[0]));
      };
      assert.deepEqual(await tagsOf(records.at(-1)?.request_id), {
        'spendhouse:user_id': 'u"1\\',
        env: 'dev,prod',
        bare: '',
        quote: '"x"\\y',
        a: 'b:c',
        ü: '✓',
        tab: '\t',
      });
      assert.deepEqual(await tagsOf(records[0]?.request_id), {
        'spendhouse:user_id': 'user-0',
        'spendhouse:customer_id': 'cust\nwith newline',
      });
      assert.deepEqual(await tagsOf(records[1]?.request_id), {
        'spendhouse:user_id': 'user-1',
        env: 'prod',
        feature: '1',
        "it's \\ odd": '',
      });
      const given = await conn.runAndReadAll(
        `SELECT "x_ChargeDimension", "ListCost"::VARCHAR, "ListUnitPrice", ("BilledCost" * 1000000000)::BIGINT::VARCHAR FROM ${source} WHERE "x_RequestId" = '${records.at(-2)?.request_id}'`,
      );
      assert.deepEqual(
        given.getRows().map((r) => r.map((v) => (v === null ? null : String(v)))),
        [['call', '0.000000000000000000', null, '5000000']],
      );
      const correction = await conn.runAndReadAll(
        `SELECT "ChargeClass", "x_CorrectsRequestId", ("BilledCost" * 1000000000)::BIGINT::VARCHAR FROM ${source} WHERE "x_Source" = 'correction'`,
      );
      assert.deepEqual(
        correction.getRows().map((r) => r.map(String)),
        [['Correction', records[1]?.request_id, '-12345']],
      );
      // The CSV holds the same rows (ISO-8601 times, exact decimals).
      const csvPath = join(root, 'csv-copy.csv');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        csvPath,
        gunzipSync(await readFile(join(root, 'focus_csv/billing_period=2026-01/part-20260105T1000Z.csv.gz'))),
      );
      const csv = await conn.runAndReadAll(
        `SELECT (sum("BilledCost"::DECIMAL(18,9)) * 1000000000)::HUGEINT::VARCHAR, min("ChargePeriodStart") FROM read_csv(${duckString(csvPath)}, header = true, all_varchar = true)`,
      );
      const hour0 = records.filter((r) => Date.parse(r.start_time) < (BASE + HOUR) * 1000);
      assert.equal(String(csv.getRows()[0]?.[0]), String(hour0.reduce((s, r) => s + r.cost_nano, 0)));
      assert.match(String(csv.getRows()[0]?.[1]), /^2026-01-05T10:00:00\.\d{3}Z$/);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  test('`archive focus` exports a range on its own; the Athena DDL names every column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'archive-focus-cli-'));
    try {
      const config = { ...t.config, archive: { ...t.config.archive, target: { kind: 'local' as const, root: dir } } };
      const range = ['--from', '2026-01-05T10:00:00Z', '--to', '2026-01-05T12:00:00Z'];
      const first = await runCli(config, ['focus', ...range]);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /#focus/);
      assert.match(first.out, /2 exported/);
      await readFile(join(dir, objectKey('', BASE + HOUR, 'focus_parquet')));
      await readFile(join(dir, objectKey('', BASE + HOUR, 'focus_csv')));
      const again = await runCli(config, ['focus', ...range]);
      assert.match(again.out, /0 exported, 2 already current/);
      const ddl = focusAthenaDdl(config.archive);
      for (const c of FOCUS_COLUMNS)
        assert.match(ddl, new RegExp(`\`${c.name}\` +${c.athena.replace(/[()]/g, '\\$&')}`));
      assert.match(ddl, /PARTITIONED BY \(`billing_period` string\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
