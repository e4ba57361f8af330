// Issue 16: an ingest body is split into records with bounded work (src/ingest/recordBody.ts) as it
// arrives: nesting past MAX_JSON_DEPTH is a 400 naming the line, gzip inflates as it is split under a byte limit
// (413) and a bad chunk stops the inflating, and every shape the API documents (array, object,
// {"records": [...]}, NDJSON with broken lines) reads the same however the bytes are cut into chunks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { AppError } from '../src/errors.js';
import { MAX_JSON_DEPTH } from '../src/http/jsonLimits.js';
import { type BodyProgress, MAX_RECORD_BYTES, parseRecordBody, readRecordBody } from '../src/ingest/recordBody.js';
import { BatchEncoder, EncodedRows } from '../src/ingest/rows.js';
import { spendRecord } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const shown = (records: unknown[]) => records.map((r) => (r instanceof SyntaxError ? `error: ${r.message}` : r));
const parse = async (text: string) => shown(await parseRecordBody(Buffer.from(text)));

/** `body` as a request stream of `size`-byte chunks. */
function chunked(body: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
  return Readable.from(chunks);
}

const limits = { maxBytes: 64 * 1024 * 1024, maxRecords: 100_000 };

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

  test(`nesting deeper than ${MAX_JSON_DEPTH}, text after the records, or a truncated body: 400 naming the line`, async () => {
    for (const [body, message] of [
      [`[{"a":1},\n${'['.repeat(MAX_JSON_DEPTH + 1)}`, /line 2: nested deeper than 64 levels/],
      ['[{"a":1}] trailing', /line 1: unexpected text after the records/],
      ['[{"a":1},\n{"b":', /line 2: the body ends inside a value/],
    ] as const) {
      await assert.rejects(parseRecordBody(Buffer.from(body)), (err: AppError) => {
        assert.equal(err.status, 400);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await parse(`[${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}]`), [
      JSON.parse(`${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}`),
    ]);
  });

  test('records read the same however the body is cut into chunks (escapes, keys and lines across cuts)', async () => {
    const bodies = [
      '[{"a":1},{"b":[1,{"c":"]}\\\\\\""}]}, 3, "x"]',
      '{"x": [1], "rec": 2, "records": [{"a":"\\"records\\""},{"b":2}], "y": {}}',
      '{"records\\"": [1], "records": [{"a":1},{"b":2}]}',
      '{\n "a": 1,\n "m": {"k": "v"}\n}\n',
      '{"a":"é😀"}\r\n\n{"b":2}\n123\n"s"\n',
      '{"a":1\n\n  {"b":2}\n{not json\n{"c":"unterminated\n{"d":4}',
    ];
    for (const text of bodies) {
      const whole = shown(await parseRecordBody(Buffer.from(text)));
      assert.ok(whole.length > 0, text);
      for (const size of [1, 2, 3, 7, 64]) {
        assert.deepEqual(
          shown(await readRecordBody(chunked(Buffer.from(text), size), limits)),
          whole,
          `${size}: ${text}`,
        );
      }
    }
  });

  test('a record past MAX_RECORD_BYTES is rejected alone (its bytes not kept); past maxRecords is 413', async () => {
    const big = `{"a":"${'x'.repeat(MAX_RECORD_BYTES)}"}`;
    const out = shown(await readRecordBody(chunked(Buffer.from(`[${big},{"b":1}]`), 64 * 1024), limits));
    assert.match(String(out[0]), /^error: line 1: a record is larger than/);
    assert.deepEqual(out[1], { b: 1 });
    const five = Buffer.from('{"a":1}\n'.repeat(5));
    await assert.rejects(readRecordBody(chunked(five, 8), { ...limits, maxRecords: 4 }), (err: AppError) => {
      assert.equal(err.status, 413);
      return true;
    });
  });

  test('gzip inflates as it is split, under a byte limit (413 past it); what is not gzip is a 400', async () => {
    const text = Buffer.from('{"a":1}\n'.repeat(128 * 1024));
    const gzip = { ...limits, maxRecords: 200_000, encoding: 'gzip' };
    const records = await readRecordBody(chunked(gzipSync(text), 1000), { ...gzip, maxBytes: 2 * 1024 * 1024 });
    assert.equal(records.length, 128 * 1024);
    await assert.rejects(
      readRecordBody(chunked(gzipSync(text), 1000), { ...gzip, maxBytes: 512 * 1024 }),
      (err: AppError) => {
        assert.equal(err.status, 413);
        assert.match(err.message, /once decompressed/);
        return true;
      },
    );
    const whole = gzipSync(text);
    for (const body of [Buffer.from('not gzip'), whole.subarray(0, whole.length - 4)]) {
      await assert.rejects(readRecordBody(chunked(body, 1000), gzip), (err: AppError) => err.status === 400);
    }
  });

  test('a bad chunk early in a huge gzip body is refused without inflating the rest; the rest is drained', async () => {
    // Base64 of random bytes compresses only to its 6 bits a byte: the body is ~12 MiB on the wire, so how much of it the
    // inflater took in says how far it went. The old reader inflated all of it before looking.
    const tail = randomBytes(12 * 1024 * 1024).toString('base64');
    const body = gzipSync(`[{"a":1},\n${'['.repeat(MAX_JSON_DEPTH + 1)}"${tail}"`, { level: 1 });
    assert.ok(body.length > 12 * 1024 * 1024);
    const progress: BodyProgress = { received: 0, inflatedFrom: 0, scanned: 0 };
    await assert.rejects(
      readRecordBody(chunked(body, 64 * 1024), { ...limits, encoding: 'gzip' }, progress),
      (err: AppError) => {
        assert.equal(err.status, 400);
        assert.match(err.message, /line 2: nested deeper than 64 levels/);
        return true;
      },
    );
    assert.ok(progress.inflatedFrom < 1024 * 1024, `inflated from ${progress.inflatedFrom} bytes`);
    assert.ok(progress.scanned < 1024 * 1024, `scanned ${progress.scanned} bytes`);
    assert.equal(progress.received, body.length);
  });
});

test("the worker reads a queued row's key from the start of its line, as a full parse would", () => {
  const ids = ['plain', 'we"ird\\id', '\u2028-line', 'é😀', '\u0001x'];
  const records = ids.map((id, i) => spendRecord('k', i, { request_id: id, response_id: i % 2 ? null : `r"${i}` }));
  const text = `${BatchEncoder.of(records).rows()}\n{"start_time":5,"request_id":"other-order"}\nnot a row`;
  const parsed = text.split('\n').map((line) => {
    try {
      const row = JSON.parse(line) as { request_id: string; start_time: number };
      return { request_id: row.request_id, start_time: row.start_time };
    } catch {
      return { request_id: '', start_time: 0 };
    }
  });
  assert.deepEqual(EncodedRows.fromText(text).keys(), parsed);
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

  test('over a real socket, a huge gzip body refused on its first chunks is answered 400 once sent', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as { port: number };
    const tail = randomBytes(5 * 1024 * 1024).toString('base64');
    const body = gzipSync(`{"a":1}\n${'['.repeat(MAX_JSON_DEPTH + 1)}"${tail}"`, { level: 1 });
    assert.ok(body.length > 5 * 1024 * 1024);
    const res = await fetch(`http://127.0.0.1:${port}/ingest/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-encoding': 'gzip' },
      body,
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /line 2: nested deeper/);
    const tooLong = await fetch(`http://127.0.0.1:${port}/ingest/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      body: Buffer.alloc(9 * 1024 * 1024, ' '),
    });
    assert.equal(tooLong.status, 413);
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
