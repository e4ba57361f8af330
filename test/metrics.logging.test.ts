// Structured JSON logs: one JSON object per line with the request id, and never a key or prompt text at the
// default level — checked on a real app's output for proxied calls (JSON and an auth failure), for keys in
// request URLs (LiteLLM's `?key=`, `?api_key=`, `/key/sk-…/regenerate`), and on the redaction paths for
// anything that logs headers.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { redactUrl, withLogRedaction } from '../src/http/logRedaction.js';
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
  await server.inject({
    url: '/',
    headers: {
      authorization: 'Bearer sk-secret-1',
      'x-api-key': 'sk-secret-2',
      'x-goog-api-key': 'goog-secret-3',
      'x-amz-security-token': 'amz-secret-4',
    },
  });
  server.log.info({ litellm_params: { aws_secret_access_key: 'amz-secret-5', aws_session_token: 'amz-secret-6' } });
  server.log.info({ openai: { admin_key: 'sk-admin-secret-7' } }, 'reconciliation');
  await server.close();
  const line = out.find((l) => l.includes('"msg":"headers"'));
  assert.ok(line);
  assert.ok(!/sk-secret|goog-secret|amz-secret/.test(line), line);
  assert.match(line, /"authorization":"\[REDACTED\]"/);
  const params = out.find((l) => l.includes('litellm_params'));
  assert.ok(params && !params.includes('amz-secret'), params);
  const admin = out.find((l) => l.includes('"msg":"reconciliation"'));
  assert.ok(admin && !admin.includes('sk-admin-secret') && admin.includes('[REDACTED]'), admin);
});

test('keys in request URLs never reach the log: query parameters, sk- tokens, /key/…/regenerate', async () => {
  const secret = 'sk-url-secret-0123456789abcdef';
  const hash = 'c0ffee'.repeat(10).slice(0, 64);
  const calls = [
    { method: 'GET' as const, url: `/key/info?key=${secret}` },
    { method: 'GET' as const, url: `/key/info?token=${hash}` },
    { method: 'GET' as const, url: `/spend/logs?api_key=${secret}&start_date=2026-01-01` },
    { method: 'GET' as const, url: `/global/spend/report?group_by=api_key&API_KEY=${secret}` },
    { method: 'POST' as const, url: `/key/${secret}/regenerate` },
    { method: 'POST' as const, url: `/key/${hash}/regenerate` },
    { method: 'GET' as const, url: `/no/such/route/${secret}` },
  ];
  const from = lines.length;
  for (const call of calls) {
    const res = await app.inject({
      ...call,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: call.method === 'POST' ? {} : undefined,
    });
    assert.ok(!res.body.includes('url-secret'), `${call.url} answered with the key: ${res.body}`);
  }
  const logged = lines.slice(from);
  const urls = logged.map((l) => (JSON.parse(l) as { req?: { url?: string } }).req?.url).filter(Boolean);
  assert.equal(urls.length, calls.length, 'every request was logged with its (redacted) URL');
  assert.ok(urls.includes('/key/info?key=[REDACTED]'), urls.join('\n'));
  assert.ok(urls.includes('/key/[REDACTED]/regenerate'), urls.join('\n'));
  assert.ok(urls.includes('/spend/logs?api_key=[REDACTED]&start_date=2026-01-01'), urls.join('\n'));
  for (const line of logged) {
    assert.ok(!line.includes('url-secret'), line);
    assert.ok(!line.includes(hash), line);
  }
});

test('redactUrl: one home for masking a URL', () => {
  const cases: [string, string][] = [
    ['/key/info?key=sk-abc123', '/key/info?key=[REDACTED]'],
    ['/x?a=1&Api_Key=abc&b=2', '/x?a=1&Api_Key=[REDACTED]&b=2'],
    ['/x?api%5Fkey=abc', '/x?api%5Fkey=[REDACTED]'],
    ['/x?password=hunter2&token=t', '/x?password=[REDACTED]&token=[REDACTED]'],
    ['/key/my-static-key/regenerate?x=1', '/key/[REDACTED]/regenerate?x=1'],
    ['/v1/models/sk-proj-AbC_d-e', '/v1/models/[REDACTED]'],
    ['/spend/logs?start_date=2026-01-01', '/spend/logs?start_date=2026-01-01'],
    ['/ask-me?q=task-list', '/ask-me?q=task-list'],
    ['redis://:s3cret@cache:6379/0', 'redis://:[REDACTED]@cache:6379/0'],
    ['http://default:pw@ch:8123', 'http://default:[REDACTED]@ch:8123'],
    [':s3cret@host:6379', ':[REDACTED]@host:6379'],
    ['rediss://user:p%40ss@h:6380/2?key=x', 'rediss://user:[REDACTED]@h:6380/2?key=[REDACTED]'],
    ['/x?key', '/x?key'],
    ['/x?key=%zz', '/x?key=[REDACTED]'],
  ];
  for (const [input, expected] of cases) assert.equal(redactUrl(input), expected, input);
});
