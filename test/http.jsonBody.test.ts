// Bounded JSON bodies (src/http/jsonBody.ts): the nesting scanner on the shapes that matter (deep arrays and
// objects, brackets inside strings, escaped quotes, backslash runs, pieces split anywhere), and the app's
// JSON parser end to end: too deep → 400 naming `body` (no 500 from a later JSON.stringify), also for a
// client on a real socket, and fastify's prototype-poisoning and size rules still hold. Large bodies are
// parsed in a worker: the same answers as the main thread (values, key order, errors), the pieces protocol
// on any value, a dying worker answered (413/503, never a hang), and no worker left once an app is closed.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { registerErrorHandler } from '../src/http/errorHandler.js';
import {
  type JsonBodyParserOptions,
  JsonDepthScanner,
  jsonNestsDeeperThan,
  registerJsonBodyParser,
} from '../src/http/jsonBody.js';
import { MAX_JSON_DEPTH } from '../src/http/jsonLimits.js';
import { type JsonBodyTiming, liveJsonParseWorkers } from '../src/http/jsonParsePool.js';
import { JsonAssembler, splitJson } from '../src/http/jsonPieces.js';
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

/** The pieces protocol rebuilt from scratch: the same value, keys in the same order. */
function roundTrip(value: unknown, pieceChars: number): unknown {
  const assembler = new JsonAssembler();
  for (const piece of splitJson(value, pieceChars)) assembler.apply(piece);
  assert.equal(assembler.done, true);
  return assembler.value;
}

test('a value split into pieces of any size is rebuilt exactly (order, __proto__ keys, surrogate pairs)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 80 }), (value, pieceChars) => {
      const text = JSON.stringify(value) ?? 'null';
      const parsed = JSON.parse(text);
      assert.equal(JSON.stringify(roundTrip(parsed, pieceChars)), JSON.stringify(parsed));
    }),
    { numRuns: 500 },
  );
  // An own __proto__ key (kept when poisoning is ignored) stays a key, not the prototype.
  const poisoned = JSON.parse(`{"a":1,"__proto__":{"x":${JSON.stringify('y'.repeat(50))}},"b":[1,2,3]}`);
  const rebuilt = roundTrip(poisoned, 8) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(rebuilt), Object.prototype);
  assert.equal(JSON.stringify(rebuilt), JSON.stringify(poisoned));
  // A long string is sent in parts, none of them cut between the halves of a surrogate pair.
  const emoji = `x${'🙂'.repeat(100)}`;
  for (const piece of splitJson({ emoji }, 15)) if (piece.t === 's') assert.equal(piece.part.isWellFormed(), true);
  assert.equal((roundTrip({ emoji }, 15) as { emoji: string }).emoji, emoji);
});

/** A bare server with the app's parser and error handler, answering the body it parsed. */
async function echoServer(options: JsonBodyParserOptions, fastifyOptions: FastifyServerOptions = {}) {
  const app = Fastify({ bodyLimit: 10 * 1024 * 1024, ...fastifyOptions });
  registerErrorHandler(app);
  const pool = registerJsonBodyParser(app, options);
  app.post('/echo', async (request) => ({ body: request.body }));
  await app.ready();
  const post = (payload: string | Buffer) =>
    app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });
  return { app, pool, post };
}

test('the worker gives the answers of the main thread: values, poisoning, broken and deep JSON', async () => {
  // Every body over 0 bytes goes to the worker, in pieces of 64 characters (so small bodies cross the protocol).
  const bodies = [
    '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"n":1,"x":-0.5e-3,"ok":true,"no":null}',
    JSON.stringify({ image: 'QUJD'.repeat(500), 'ключ→🙂': ['値', { 'x"y': '[[[' }], nums: [1, 2, 3] }),
    JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }))),
    '\ufeff{"bom":1}',
    '"a bare string, long enough to be split into more than one piece of sixty-four characters"',
    '[]',
    '{"__proto__":{"isAdmin":true}}',
    '{"a":{"constructor":{"prototype":{"x":1}}}}',
    '{"team_alias": }',
    '{"a":1,}',
    `{"a":"${'x'.repeat(200)}`,
    nested(MAX_JSON_DEPTH),
    nested(MAX_JSON_DEPTH + 1),
    '',
  ];
  for (const fastifyOptions of [{}, { onProtoPoisoning: 'remove' }, { onProtoPoisoning: 'ignore' }] as const) {
    const main = await echoServer({ workerFromBytes: Number.POSITIVE_INFINITY }, fastifyOptions);
    const worker = await echoServer({ workerFromBytes: 0, pool: { pieceChars: 64 } }, fastifyOptions);
    try {
      for (const body of bodies) {
        const [a, b] = [await main.post(body), await worker.post(body)];
        const label = `${JSON.stringify(fastifyOptions)} ${body.slice(0, 60)}`;
        assert.equal(b.statusCode, a.statusCode, label);
        assert.equal(b.body, a.body, label);
      }
      assert.equal(liveJsonParseWorkers() > 0, true);
    } finally {
      await Promise.all([main.app.close(), worker.app.close()]);
    }
  }
  assert.equal(liveJsonParseWorkers(), 0);
});

test('a body that kills the worker is answered (413), a closing pool refuses (503), the next body parses', async () => {
  // A worker with a small heap: 4 MB of `[{},{},…]` is 1.4M objects, far more than it holds.
  const small = await echoServer({ workerFromBytes: 1024, pool: { resourceLimits: { maxOldGenerationSizeMb: 32 } } });
  try {
    const huge = Buffer.from(`[${'{},'.repeat(1024 * 1024 * 1.4)}{}]`);
    const killed = await small.post(huge);
    assert.equal(killed.statusCode, 413, killed.body);
    assert.equal(killed.json().error.param, 'body');
    const next = await small.post(JSON.stringify({ after: 'x'.repeat(4096) }));
    assert.equal(next.statusCode, 200, next.body);
    assert.equal(next.json().body.after.length, 4096);
    // Closing while a body is in the worker or queued: each is refused, none waits forever.
    const inFlight = [1, 2, 3].map(() => small.pool.parse(Buffer.from(JSON.stringify({ x: 'y'.repeat(1 << 20) }))));
    const settled = Promise.allSettled(inFlight);
    await small.pool.close();
    for (const result of await settled) {
      assert.equal(result.status, 'rejected');
      assert.equal((result as PromiseRejectedResult).reason.status, 503);
    }
  } finally {
    await small.app.close();
  }
  assert.equal(liveJsonParseWorkers(), 0);
});

/** POSTs `body` over a real socket (chunked: no Content-Length, so the buffer grows as it arrives). */
function postOverSocket(port: number, path: string, body: Buffer, chunked: boolean) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${TEST_MASTER_KEY}`,
      'content-type': 'application/json',
    };
    if (!chunked) headers['content-length'] = String(body.length);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (chunked) {
      for (let at = 0; at < body.length; at += 1 << 20) req.write(body.subarray(at, at + (1 << 20)));
      req.end();
    } else req.end(body);
  });
}

test('large bodies over a real port are parsed in a worker, and closing the app ends it', async () => {
  const app = await startTestApp(testConfig({ server: { body_limit_bytes: 10 * 1024 * 1024 } }));
  try {
    const address = await app.app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(address).port);
    // 9 MB of metadata: parsed (the answer names the field the route refuses, not `body`).
    const bigMetadata = Buffer.from(
      JSON.stringify({ team_alias: 'big', metadata: { image: 'QUJD'.repeat(2_300_000), note: 'é🙂' } }),
    );
    const manyObjects = Buffer.from(
      JSON.stringify({ team_alias: 'many', metadata: { list: Array.from({ length: 200_000 }, (_, i) => ({ i })) } }),
    );
    const timings: JsonBodyTiming[] = [];
    const onTiming = (message: unknown) => timings.push(message as JsonBodyTiming);
    subscribe('spendhouse:json-body', onTiming);
    for (const [body, chunked] of [
      [bigMetadata, false],
      [bigMetadata, true],
      [manyObjects, true],
    ] as const) {
      const answer = await postOverSocket(port, '/team/new', body, chunked);
      assert.equal(answer.status, 400, answer.text);
      assert.equal(JSON.parse(answer.text).error.param, 'metadata', answer.text);
    }
    unsubscribe('spendhouse:json-body', onTiming);
    // Each was parsed in the worker and handed back in pieces (the time each piece took is the bench's job).
    assert.deepEqual(
      timings.map((timing) => [timing.path, timing.bytes, timing.steps > 4]),
      [
        ['worker', bigMetadata.length, true],
        ['worker', bigMetadata.length, true],
        ['worker', manyObjects.length, true],
      ],
    );
    const poisoned = Buffer.from(`{"team_alias":"p","metadata":{"a":"${'x'.repeat(2 << 20)}"},"__proto__":{}}`);
    const refused = await postOverSocket(port, '/team/new', poisoned, false);
    assert.equal(refused.status, 400, refused.text);
    assert.match(JSON.parse(refused.text).error.message, /^body: not valid JSON \(a __proto__/);
    assert.equal(liveJsonParseWorkers() > 0, true);
  } finally {
    await app.close();
  }
  assert.equal(liveJsonParseWorkers(), 0);
});
