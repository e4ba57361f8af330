// Bounded JSON bodies (src/http/jsonBody.ts): the nesting scanner on the shapes that matter (deep arrays and
// objects, brackets inside strings, escaped quotes, backslash runs, pieces split anywhere), and the app's
// JSON parser end to end: too deep → 400 naming `body` (no 500 from a later JSON.stringify), also for a
// client on a real socket, and fastify's prototype-poisoning and size rules still hold.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { JsonDepthScanner, jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../src/http/jsonBody.js';
import { curlPost } from './budgetCalls.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const nested = (levels: number, open = '[', close = ']') => `${open.repeat(levels)}${close.repeat(levels)}`;
const nestedObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** Depth of a parsed JSON value, computed the obvious way (the scanner's reference). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

test('the scanner counts arrays and objects, not brackets inside strings', () => {
  assert.equal(jsonNestsDeeperThan(nested(64), 64), false);
  assert.equal(jsonNestsDeeperThan(nested(65), 64), true);
  assert.equal(jsonNestsDeeperThan(nestedObject(64), 64), false);
  assert.equal(jsonNestsDeeperThan(nestedObject(65), 64), true);
  assert.equal(jsonNestsDeeperThan(`[${nestedObject(63)}]`, 64), false);
  assert.equal(jsonNestsDeeperThan(`{"a":[${nestedObject(63)}]}`, 64), true);
  // Only open brackets count (a body that never closes is as deep as it opens).
  assert.equal(jsonNestsDeeperThan('['.repeat(65), 64), true);
  // Brackets inside strings, however many, are text.
  assert.equal(jsonNestsDeeperThan(JSON.stringify({ text: '['.repeat(10_000) }), 64), false);
  assert.equal(jsonNestsDeeperThan(JSON.stringify(['{'.repeat(100), ']'.repeat(100)]), 1), false);
  // An escaped quote does not end a string: the brackets after it are still text…
  assert.equal(jsonNestsDeeperThan(`["\\"${'['.repeat(100)}"]`, 64), false);
  // …but an escaped backslash before a quote does end it: the brackets after it count.
  assert.equal(jsonNestsDeeperThan(`["\\\\",${nested(64)}]`, 64), true);
  assert.equal(jsonNestsDeeperThan(`["\\\\\\"${'['.repeat(100)}"]`, 64), false);
  // Multi-byte characters never look like brackets or quotes.
  assert.equal(jsonNestsDeeperThan(JSON.stringify({ 'ключ→🙂': ['値', { 'x"y': '[[[' }] }), 3), false);
});

test('the scanner agrees with JSON.parse on any value, however the text is split into pieces', () => {
  const value = fc.jsonValue({ maxDepth: 8 });
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 9 }), fc.array(fc.nat(), { maxLength: 6 }), (v, limit, cuts) => {
      const text = JSON.stringify(v) ?? 'null';
      const bytes = Buffer.from(text, 'utf8');
      const expected = depthOf(JSON.parse(text)) > limit;
      assert.equal(jsonNestsDeeperThan(bytes, limit), expected, text);
      // The same answer when fed in pieces (a chunk edge may fall inside a string or a backslash run).
      const edges = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const scanner = new JsonDepthScanner(limit);
      let from = 0;
      let deep = false;
      for (const edge of [...edges, bytes.length]) {
        deep = scanner.push(bytes.subarray(from, edge)) || deep;
        from = edge;
      }
      assert.equal(deep, expected, `${text} cut at ${edges.join(',')}`);
    }),
    { numRuns: 500 },
  );
  // Backslash runs split one byte at a time: `"\\\\"` ends the string, `"\\\""` does not.
  for (const [text, deep] of [
    [`["\\\\\\\\",[[1]]]`, true],
    [`["\\\\\\"[[[",1]`, false],
  ] as const) {
    const scanner = new JsonDepthScanner(2);
    let seen = false;
    for (const byte of Buffer.from(text)) seen = scanner.push(Uint8Array.of(byte)) || seen;
    assert.equal(seen, deep, text);
  }
});

let t: TestApp;
before(async () => {
  t = await startTestApp(testConfig({ server: { body_limit_bytes: 10 * 1024 * 1024 } }));
});
after(() => t.close());

const adminJson = (url: string, payload: string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    payload,
  });

test('a JSON body nested deeper than 64 levels is a 400 naming body, on every route family', async () => {
  const depthBody = (levels: number) => `{"metadata":{"m":${nestedObject(levels - 2)}}}`;
  // 64 levels in all is accepted; 65 is not. 10,000 levels used to reach JSON.stringify and end in a 500.
  const ok = await adminJson('/key/generate', depthBody(MAX_JSON_DEPTH));
  assert.equal(ok.statusCode, 200, ok.body);
  for (const levels of [MAX_JSON_DEPTH + 1, 10_000]) {
    const refused = await adminJson('/key/generate', depthBody(levels));
    assert.equal(refused.statusCode, 400, refused.body);
    assert.deepEqual(refused.json().error, {
      message: 'body: JSON nested deeper than 64 levels',
      type: 'invalid_request_error',
      code: 'bad_request',
      param: 'body',
    });
  }
  const nineMb = '['.repeat(9 * 1024 * 1024);
  for (const url of ['/key/generate', '/spend/query', '/v1/chat/completions', '/team/new']) {
    const res = await adminJson(url, nineMb);
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assert.equal(res.json().error.param, 'body', res.body);
  }
  // Brackets inside a string are text: a 100,000-bracket metadata value is one string.
  const inString = await adminJson('/key/generate', JSON.stringify({ metadata: { note: '['.repeat(10_000) } }));
  assert.equal(inString.statusCode, 200, inString.body);
  // The management routes' form parser (curl -d) is bounded the same way.
  const viaForm = await t.app.inject({
    method: 'POST',
    url: '/team/new',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `{"metadata":${nestedObject(5000)}}`,
  });
  assert.equal(viaForm.statusCode, 400, viaForm.body);
  assert.equal(viaForm.json().error.param, 'body');
  // JSON in a query-string parameter too.
  const inQuery = await t.app.inject({
    method: 'GET',
    url: `/spend/query?filters=${encodeURIComponent(nested(2000))}`,
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  assert.equal(inQuery.statusCode, 400, inQuery.body);
  assert.equal(inQuery.json().error.param, 'filters');
});

test('over a real socket, a client sending 9 MB of nested [ reads a clean 400 (not a reset mid-upload)', async () => {
  // The body is refused at its 65th byte; the rest is drained unkept and the answer sent once the client is
  // done (curl with Expect: 100-continue reported a broken pipe when the 400 came mid-upload).
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = new URL(address);
  const body = Buffer.alloc(9 * 1024 * 1024, '[');
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: Number(port),
        method: 'POST',
        path: '/key/generate',
        headers: {
          authorization: `Bearer ${TEST_MASTER_KEY}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
          expect: '100-continue',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('continue', () => req.end(body));
    req.on('error', reject);
  });
  assert.equal(answer.status, 400, answer.text);
  assert.equal(JSON.parse(answer.text).error.param, 'body');
});

test('prototype poisoning, broken JSON, empty and oversized bodies are refused as before', async () => {
  for (const payload of ['{"__proto__":{"isAdmin":true}}', '{"a":{"constructor":{"prototype":{"x":1}}}}']) {
    const res = await adminJson('/team/new', payload);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.param, 'body');
    assert.match(res.json().error.message, /__proto__ or constructor\.prototype/);
  }
  const broken = await adminJson('/team/new', '{"team_alias": }');
  assert.equal(broken.statusCode, 400);
  assert.match(broken.json().error.message, /^body: not valid JSON \(/);
  const empty = await adminJson('/team/new', '');
  assert.equal(empty.statusCode, 400, empty.body);
  const tooLarge = await adminJson('/team/new', JSON.stringify({ team_alias: 'x'.repeat(11 * 1024 * 1024) }));
  assert.equal(tooLarge.statusCode, 413, tooLarge.body);
  // A normal body after all that.
  const created = await curlPost(t.app, '/team/new', { team_alias: 'after-the-hostile-bodies' });
  assert.equal(created.status, 200);
  const json = await adminJson('/team/new', JSON.stringify({ team_alias: 'json-after', metadata: { ключ: '🙂' } }));
  assert.equal(json.statusCode, 200, json.body);
  assert.deepEqual(json.json().metadata, { ключ: '🙂' });
});
