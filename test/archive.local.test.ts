// The embedded default: no S3 configured, so closed windows go to a local folder in the S3 layout.
// DuckDB reads the files back with hive partitioning and must agree with ClickHouse to the nano-dollar.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { exportRange, exportWindow, exportWindows } from '../src/archive/exporter.js';
import { objectKey } from '../src/archive/layout.js';
import { rangeFingerprints } from '../src/archive/source.js';
import { duckString, openDuckDb } from '../src/archive/windowWriter.js';
import { toSpendLogRow } from '../src/ingest/rows.js';
import {
  archiveConfig,
  BASE,
  clickhouseTotals,
  duckTotals,
  HOUR,
  insertRecords,
  record,
  recordsFor,
} from './archive.fixtures.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

describe('archive to the local folder', () => {
  let t: TestApp;
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'archive-local-'));
    t = await startTestApp(archiveConfig({ archive: { local_path: root, interval: '1h', settle: '0s' } }));
    await insertRecords(t.app, recordsFor(3, 40), BASE + 3 * HOUR + 60);
  });

  after(async () => {
    await t?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('a scheduler pass exports the 3 closed windows in the hive layout', async () => {
    const pass = await t.app.archive.scheduler.runOnce();
    assert.deepEqual(
      pass.results.map((r) => [r.windowStart, r.outcome, r.rows]),
      [0, 1, 2].map((w) => [BASE + w * HOUR, 'exported', 40]),
    );
    const keys = pass.results.flatMap((r) => r.objects.map((o) => o.key));
    assert.ok(keys.includes('spend_logs/dt=2026-01-05/hour=10/part-20260105T1000Z.parquet'));
    assert.ok(keys.includes('spend_logs_jsonl/dt=2026-01-05/hour=12/part-20260105T1200Z.jsonl.gz'));
  });

  test('DuckDB per-window COUNT, SUM(cost_nano) and SUM(cost_usd) equal ClickHouse for both formats', async () => {
    const expected = await clickhouseTotals(t.app);
    assert.equal(expected.size, 3);
    for (const format of ['parquet', 'jsonl'] as const) {
      const got = await duckTotals(root, format);
      assert.deepEqual([...got.keys()], [...expected.keys()], format);
      for (const [w, want] of expected) {
        const have = got.get(w);
        assert.equal(have?.rows, want.rows, `${format} rows of ${w}`);
        assert.equal(have?.costNano, want.costNano, `${format} cost_nano of ${w}`);
        assert.equal(have?.costUsdNano, want.costNano, `${format} cost_usd of ${w}`);
      }
    }
  });

  test('Parquet uses the standard logical types Athena reads', async () => {
    const db = await openDuckDb(root);
    const conn = await db.connect();
    const path = join(root, objectKey('', BASE, 'parquet'));
    const reader = await conn.runAndReadAll(
      `SELECT name, type, converted_type, logical_type FROM parquet_schema(${duckString(path)})`,
    );
    const meta = await conn.runAndReadAll(
      `SELECT DISTINCT compression FROM parquet_metadata(${duckString(path)}) ORDER BY 1`,
    );
    conn.closeSync();
    db.closeSync();
    const byName = new Map(reader.getRowObjectsJson().map((r) => [String(r.name), r]));
    assert.equal(byName.get('start_time')?.converted_type, 'TIMESTAMP_MILLIS');
    assert.equal(byName.get('cost_usd')?.converted_type, 'DECIMAL');
    assert.match(String(byName.get('cost_usd')?.logical_type), /scale=9, precision=18/);
    assert.equal(byName.get('cost_nano')?.type, 'INT64');
    assert.equal(byName.get('tags')?.converted_type, 'LIST');
    assert.equal(byName.get('metadata')?.converted_type, 'UTF8');
    assert.deepEqual(meta.getRows().flat().map(String), ['ZSTD']);
  });

  test('JSON lines carry the SpendRecord field names and values', async () => {
    const body = gunzipSync(await readFile(join(root, objectKey('', BASE, 'jsonl'))));
    const lines = body.toString('utf8').trimEnd().split('\n');
    assert.equal(lines.length, 40);
    const ids = lines.map((l) => (JSON.parse(l) as { request_id: string }).request_id);
    assert.deepEqual(ids, [...ids].sort(), 'rows sorted by request_id');
    const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
    const want = record(0, BASE);
    assert.equal(first.request_id, want.request_id);
    assert.equal(first.start_time, want.start_time);
    assert.equal(first.response_id, null);
    assert.equal(first.cost_usd, '0.001010000');
    assert.equal(first.cost_nano, 1_010_000);
    assert.deepEqual(first.tags, []);
    assert.deepEqual(first.metadata, {});
    const odd = JSON.parse(lines[1] as string) as Record<string, unknown>;
    assert.deepEqual(odd.metadata, record(1, BASE).metadata);
    assert.deepEqual(odd.tags, ['env:prod', 'feature:1', "it's \\ odd"]);
    assert.equal(odd.key_alias, 'key "1"');
  });

  test('re-export rewrites the same names with the same bytes', async () => {
    const before = await Promise.all(
      [0, 1, 2].map((w) => readFile(join(root, objectKey('', BASE + w * HOUR, 'parquet')))),
    );
    const results = await exportRange(t.app.archive.context, BASE, BASE + 3 * HOUR, { force: true });
    assert.deepEqual(
      results.map((r) => r.outcome),
      ['exported', 'exported', 'exported'],
    );
    for (const [w, bytes] of before.entries()) {
      assert.ok(bytes.equals(await readFile(join(root, objectKey('', BASE + w * HOUR, 'parquet')))), `window ${w}`);
    }
    const again = await t.app.archive.scheduler.runOnce();
    assert.equal(again.candidates, 0, 'nothing changed, nothing to export');
  });

  test('a late record re-exports its window and totals match again', async () => {
    const late = record(9_999, BASE + HOUR + 1_234, { cost_nano: 123_456_789 });
    await insertRecords(t.app, [late], Math.floor(Date.now() / 1000));
    const pass = await t.app.archive.scheduler.runOnce();
    assert.deepEqual(
      pass.results.map((r) => [r.windowStart, r.outcome, r.rows]),
      [[BASE + HOUR, 'exported', 41]],
    );
    const expected = await clickhouseTotals(t.app);
    const got = await duckTotals(root, 'parquet');
    assert.deepEqual(got.get(BASE + HOUR)?.costNano, expected.get(BASE + HOUR)?.costNano);
    assert.equal(got.get(BASE + HOUR)?.rows, 41);
  });

  test('two workers never export the same window at once (Redis lock per window)', async () => {
    const ctx = t.app.archive.context;
    const outcomes = await Promise.all([exportWindow(ctx, BASE, true), exportWindow(ctx, BASE, true)]);
    assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ['exported', 'locked']);
  });

  test('a window read ahead, then changed by a late record, is read again: its files hold the late record', async () => {
    const first = BASE + 10 * HOUR;
    const second = first + HOUR;
    await insertRecords(
      t.app,
      recordsFor(2, 20, 50_000).map((r, i) => ({
        ...r,
        start_time: new Date((i < 20 ? first : second) * 1000 + i).toISOString(),
      })),
      1,
    );
    const ctx = t.app.archive.context;
    const windows = await rangeFingerprints(t.app.warehouse, HOUR, first, second + HOUR);
    const outcomes: [number, string, number][] = [];
    await exportWindows(ctx, windows, false, (windowStart, outcome) => {
      assert.ok(!(outcome instanceof Error), String(outcome));
      outcomes.push([windowStart, outcome.outcome, outcome.rows]);
    });
    assert.deepEqual(outcomes, [
      [first, 'exported', 20],
      [second, 'exported', 20],
    ]);
    // Now window 2 is read ahead while window 1 exports, and changes before its own export starts.
    const late = record(60_000, second + 77, { cost_nano: 987_654_321 });
    const again: [number, string, number][] = [];
    await exportWindows(ctx, windows, true, (windowStart, outcome) => {
      assert.ok(!(outcome instanceof Error), String(outcome));
      again.push([windowStart, outcome.outcome, outcome.rows]);
      if (windowStart === first) return insertRecords(t.app, [late], 2);
    });
    assert.deepEqual(again, [
      [first, 'exported', 20],
      [second, 'exported', 21],
    ]);
    const expected = await clickhouseTotals(t.app);
    const got = await duckTotals(root, 'parquet');
    assert.deepEqual(got.get(second), { ...expected.get(second), costUsdNano: expected.get(second)?.costNano });
  });

  test('awkward strings survive the CSV trip exactly, in text, tags and metadata', async () => {
    // Everything CSV or a list literal could mangle: quotes of both kinds, backslashes before quotes and
    // letters, control bytes, the NULL markers `\N` and `NULL`, empty strings, brackets and commas.
    const awkward = [
      '\\N',
      'NULL',
      "it's",
      "\\'",
      'a\\tb',
      'tab\there',
      'nl\nx',
      'cr\rx',
      'nul\0x',
      '"q"',
      '[a,b]',
      '',
      ' pad ',
    ];
    const weird = record(4_242, BASE + 6 * HOUR, {
      key_alias: awkward.join('|'),
      customer_id: '\\N',
      team_id: 'NULL',
      model: 'm,"x"\n\\',
      tags: [...awkward, 'ünïcødé 🚀'],
      metadata: Object.fromEntries(awkward.map((v, i) => [`k${i}${v}`, v])),
    });
    await insertRecords(t.app, [weird], 1);
    const result = await exportWindow(t.app.archive.context, BASE + 6 * HOUR);
    assert.equal(result.outcome, 'exported');
    const db = await openDuckDb(root);
    const conn = await db.connect();
    const reader = await conn.runAndReadAll(
      `SELECT key_alias, customer_id, team_id, model, tags, metadata FROM read_parquet(${duckString(join(root, objectKey('', BASE + 6 * HOUR, 'parquet')))})`,
    );
    conn.closeSync();
    db.closeSync();
    const [row] = reader.getRowObjectsJson();
    assert.equal(row?.key_alias, weird.key_alias);
    assert.equal(row?.customer_id, '\\N');
    assert.equal(row?.team_id, 'NULL');
    assert.equal(row?.model, weird.model);
    assert.deepEqual(row?.tags, toSpendLogRow(weird, 1).tags);
    assert.deepEqual(JSON.parse(String(row?.metadata)), weird.metadata);
    const line = gunzipSync(await readFile(join(root, objectKey('', BASE + 6 * HOUR, 'jsonl')))).toString('utf8');
    const json = JSON.parse(line) as Record<string, unknown>;
    assert.equal(json.key_alias, weird.key_alias);
    assert.deepEqual(json.tags, toSpendLogRow(weird, 1).tags);
    assert.deepEqual(json.metadata, weird.metadata);
  });

  test('a row with a duplicate metadata key still exports (the window is never stuck on it)', async () => {
    const odd = {
      ...toSpendLogRow(record(31_337, BASE + 5 * HOUR), 1),
      metadata_keys: ['k', 'k'],
      metadata_values: ['1', '2'],
    };
    await t.app.warehouse.insert('spend_logs', [odd]);
    const result = await exportWindow(t.app.archive.context, BASE + 5 * HOUR);
    assert.equal(result.outcome, 'exported');
    const line = gunzipSync(await readFile(join(root, objectKey('', BASE + 5 * HOUR, 'jsonl')))).toString('utf8');
    assert.match(line, /"metadata":\{"k":"1","k":"2"\}/);
  });
});
