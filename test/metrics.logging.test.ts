// Structured JSON logs: one JSON object per line with the request id, and never a key or prompt text at the
// default level — checked on a real app's output for proxied calls (JSON and an auth failure), and on the
// redaction paths for anything that logs headers.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { withLogRedaction } from '../src/http/logRedaction.js';
import { dropTestState, TEST_MASTER_KEY, testConfig } from './helpers/testApp.js';

const PROMPT = 'my very private prompt text';

function captureStream(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
}

const config = testConfig({ model_list: [{ model_name: 'demo', litellm_params: { model: 'mock/house-model' } }] });
const lines: string[] = [];
let app: FastifyInstance;
before(async () => {
  app = await buildApp({ config, logger: { level: 'info', stream: captureStream(lines) } });
});
after(async () => {
  await app.close();
  await dropTestState(config);
});

test('proxied calls log JSON lines with a request id, never the key or the prompt', async () => {
  const call = (key: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, 'x-api-key': key },
      payload: { model: 'demo', messages: [{ role: 'user', content: PROMPT }] },
    });
  assert.equal((await call(TEST_MASTER_KEY)).statusCode, 200);
  assert.equal((await call('sk-not-a-real-key-000000')).statusCode, 401);
  assert.ok(lines.length >= 4, 'request and response lines were logged');
  for (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.ok(entry.level && entry.time && entry.msg !== undefined, line);
    if (entry.req || entry.res) assert.ok(entry.reqId, line);
    assert.ok(!line.includes(TEST_MASTER_KEY), line);
    assert.ok(!line.includes('sk-not-a-real-key'), line);
    assert.ok(!line.includes(PROMPT), line);
  }
});

test('headers that reach a log line are redacted', async () => {
  const out: string[] = [];
  const server = Fastify({ logger: withLogRedaction({ level: 'info', stream: captureStream(out) }) });
  server.get('/', async (request) => {
    request.log.info({ req: { headers: request.headers }, headers: request.headers }, 'headers');
    return 'ok';
  });
  await server.inject({ url: '/', headers: { authorization: 'Bearer sk-secret-1', 'x-api-key': 'sk-secret-2' } });
  await server.close();
  const line = out.find((l) => l.includes('"msg":"headers"'));
  assert.ok(line);
  assert.ok(!line.includes('sk-secret'), line);
  assert.match(line, /"authorization":"\[REDACTED\]"/);
});
