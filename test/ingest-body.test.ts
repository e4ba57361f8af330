// Issue 16: an ingest body is split into records with bounded work (src/ingest/recordBody.ts): nesting past
// MAX_DEPTH is a 400 naming the line, gzip inflates as a stream under a byte limit (413), and every shape
// the API documents (array, object, {"records": [...]}, NDJSON with broken lines) still reads the same.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { AppError } from '../src/errors.js';
import { inflateBounded, MAX_DEPTH, parseRecordBody } from '../src/ingest/recordBody.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const parse = async (text: string) =>
  (await parseRecordBody(Buffer.from(text))).map((r) => (r instanceof SyntaxError ? `error: ${r.message}` : r));

describe('record body (no services)', () => {
  test('every documented shape gives the same records', async () => {
    assert.deepEqual(await parse('[{"a":1},{"b":[1,{"c":"]}\\""}]}, 3]'), [{ a: 1 }, { b: [1, { c: ']}"' }] }, 3]);
    assert.deepEqual(await parse('[\n  {"a": 1},\n  {"b": 2}\n]\n'), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(await parse('{"x": [1], "records": [{"a":1},{"b":2}], "y": {}}'), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(await parse('{\n "a": 1,\n "m": {"k": "v"}\n}\n'), [{ a: 1, m: { k: 'v' } }]);
    assert.deepEqual(await parse('{"a":"é😀"}\r\n\n{"b":2}\n'), [{ a: 'é😀' }, { b: 2 }]);
    assert.deepEqual(await parse('  '), []);
  });

  test('a broken NDJSON line is its own error naming the line; the others are read', async () => {
    const out = await parse('{"a":1}\n{not json\n{"b":"unterminated\n{"c":3}\n');
    assert.deepEqual(out[0], { a: 1 });
    assert.match(String(out[1]), /^error: line 2: /);
    assert.match(String(out[2]), /^error: line 3: /);
    assert.deepEqual(out[3], { c: 3 });
    const firstBroken = await parse('{"a":1\n{"b":2}\n');
    assert.match(String(firstBroken[0]), /^error: line 1: /);
    assert.deepEqual(firstBroken[1], { b: 2 });
  });

  test(`nesting deeper than ${MAX_DEPTH}, text after the records, or a truncated body: 400 naming the line`, async () => {
    for (const [body, message] of [
      [`[{"a":1},\n${'['.repeat(MAX_DEPTH + 1)}`, /line 2: nested deeper than 64 levels/],
      ['[{"a":1}] trailing', /line 1: unexpected text after the records/],
      ['[{"a":1},\n{"b":', /line 2: the body ends inside a value/],
    ] as const) {
      await assert.rejects(parseRecordBody(Buffer.from(body)), (err: AppError) => {
        assert.equal(err.status, 400);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await parse(`[${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}]`), [
      JSON.parse(`${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}`),
    ]);
  });

  test('gzip inflates under a byte limit (413 past it) and refuses what is not gzip', async () => {
    const text = Buffer.alloc(2 * 1024 * 1024, 'x');
    assert.equal((await inflateBounded(gzipSync(text), 3 * 1024 * 1024)).length, text.length);
    await assert.rejects(inflateBounded(gzipSync(text), 1024 * 1024), (err: AppError) => err.status === 413);
    await assert.rejects(inflateBounded(Buffer.from('not gzip'), 1024), (err: AppError) => err.status === 400);
  });
});

describe('ingest API body limits', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(testConfig({ ingest: { max_body_bytes: 8 * 1024 * 1024 } }), { ingestWorker: false });
  });
  after(async () => t.close());

  const post = (payload: Buffer, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json', ...headers },
      payload,
    });

  test('a small gzip of nested `[` is refused for its nesting, naming the line', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024 - 1, '['), { level: 9 });
    assert.ok(bomb.length < 16 * 1024);
    const res = await post(bomb, { 'content-encoding': 'gzip' });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().error.message, /line 1: nested deeper than 64 levels/);
  });

  test('a gzip inflating past the body limit is 413; unauthenticated bodies are refused before they are read', async () => {
    const bomb = gzipSync(Buffer.alloc(9 * 1024 * 1024, ' '), { level: 9 });
    const res = await post(bomb, { 'content-encoding': 'gzip' });
    assert.equal(res.statusCode, 413, res.body);
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { 'content-type': 'application/json' },
      payload: Buffer.alloc(1024 * 1024, '['),
    });
    assert.equal(anonymous.statusCode, 401);
  });
});
