// The dashboard's server side through app.inject: the bundle at /ui with SPA fallback, login (admin and
// virtual key), the session cookie authenticating API calls, logout, throttling, security headers and the
// Models endpoint. Login throttling and cross-origin refusals in depth: test/ui.security.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const UI_PASSWORD = 'correct horse battery staple';
/** What a browser on the dashboard's own page sends with a write (inject's Host is localhost:80). */
const SAME_ORIGIN = { origin: 'http://localhost' };
let t: TestApp;

function cookieFrom(setCookie: string | string[] | undefined): string {
  const header = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  assert.ok(header, 'a Set-Cookie header');
  return header.split(';')[0] ?? '';
}

async function login(body: Record<string, string>, ip = '10.0.0.1') {
  return t.app.inject({ method: 'POST', url: '/ui/api/login', payload: body, remoteAddress: ip });
}

before(async () => {
  if (!existsSync('dist/ui/index.html')) {
    const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { stdio: 'inherit' });
    assert.equal(built.status, 0, 'the UI bundle builds');
  }
  const config = testConfig({
    model_list: [
      { model_name: 'gpt-4o', litellm_params: { model: 'openai/gpt-4o', rpm: 100 } },
      { model_name: 'house', litellm_params: { model: 'openai/house-model', input_cost_per_token: 0.000002 } },
      { model_name: 'mystery', litellm_params: { model: 'openai/no-such-model-xyz' } },
    ],
    keys: [{ key: 'sk-static-team-a-key', key_alias: 'team-a-key', team_id: 'team-a' }],
  });
  t = await startTestApp({ ...config, uiPassword: UI_PASSWORD });
});
after(async () => t?.close());

describe('dashboard server', () => {
  test('`/` redirects to /ui; /ui and deep links serve the app; assets are cached and compressed', async () => {
    const root = await t.app.inject({ url: '/' });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/ui');
    for (const url of ['/ui', '/ui/', '/ui/logs', '/ui/keys', '/ui/keys/anything']) {
      // Browsers accept br/gzip, so the HTML sent is index.html.br: it must not be cached as an asset.
      for (const encoding of [undefined, 'gzip', 'br, gzip']) {
        const page = await t.app.inject({ url, headers: encoding ? { 'accept-encoding': encoding } : {} });
        assert.equal(page.statusCode, 200, url);
        if (!encoding) assert.match(page.body, /<div id="app">/, url);
        assert.equal(page.headers['cache-control'], 'no-cache', `${url} (${encoding ?? 'identity'})`);
      }
    }
    const script = /src="\/ui\/(app-[^"]+\.js)"/.exec((await t.app.inject({ url: '/ui' })).body)?.[1];
    assert.ok(script);
    const asset = await t.app.inject({ url: `/ui/${script}`, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['content-encoding'], 'gzip');
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await t.app.inject({ url: '/ui/missing.js' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/ui/api/nope' })).statusCode, 404);
  });

  test('admin login sets an httpOnly SameSite=Strict cookie that authenticates API calls; logout ends it', async () => {
    assert.equal((await t.app.inject({ url: '/ui/api/session' })).statusCode, 401);
    const res = await login({ username: 'admin', password: UI_PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = cookieFrom(res.headers['set-cookie']);
    const session = await t.app.inject({ url: '/ui/api/session', headers: { cookie } });
    assert.equal(session.statusCode, 200);
    assert.equal(session.json().isAdmin, true);
    // The cookie works on the other APIs the dashboard calls.
    const query = await t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { cookie, ...SAME_ORIGIN },
      payload: {},
    });
    assert.equal(query.statusCode, 200, query.body);
    // A bearer key still wins over the cookie.
    const bearer = await t.app.inject({
      url: '/ui/api/session',
      headers: { cookie, authorization: 'Bearer sk-static-team-a-key' },
    });
    assert.equal(bearer.json().isAdmin, false);
    const out = await t.app.inject({
      method: 'POST',
      url: '/ui/api/logout',
      headers: { cookie, ...SAME_ORIGIN },
      payload: {},
    });
    assert.equal(out.statusCode, 200);
    assert.equal((await t.app.inject({ url: '/ui/api/session', headers: { cookie } })).statusCode, 401);
  });

  test('the master key as password logs in as admin; a virtual key logs in scoped to that key', async () => {
    const master = await login({ username: '', password: TEST_MASTER_KEY });
    assert.equal(master.statusCode, 200);
    const asKey = await login({ username: '', password: 'sk-static-team-a-key' });
    assert.equal(asKey.statusCode, 200);
    const me = await t.app.inject({
      url: '/ui/api/session',
      headers: { cookie: cookieFrom(asKey.headers['set-cookie']) },
    });
    assert.deepEqual(
      { isAdmin: me.json().isAdmin, teamId: me.json().teamId, username: me.json().username },
      { isAdmin: false, teamId: 'team-a', username: 'team-a-key' },
    );
    const models = await t.app.inject({
      url: '/ui/api/models',
      headers: { cookie: cookieFrom(asKey.headers['set-cookie']) },
    });
    assert.equal(models.statusCode, 403, 'model health is admin-only');
  });

  test('wrong password: a clear 401; after 10 failures from one address a 429 with retry-after', async () => {
    const ip = '10.9.9.9';
    for (let i = 0; i < 10; i++) {
      const res = await login({ username: 'admin', password: `wrong-${i}` }, ip);
      assert.equal(res.statusCode, 401, res.body);
      assert.match(res.json().error.message, /wrong username or password/);
    }
    const blocked = await login({ username: 'admin', password: UI_PASSWORD }, ip);
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.match(blocked.json().error.message, /too many failed logins from your address/);
    // Another IP is not affected.
    assert.equal((await login({ username: 'admin', password: UI_PASSWORD }, '10.9.9.10')).statusCode, 200);
    const empty = await login({ username: 'admin', password: '' }, ip);
    assert.equal(empty.statusCode, 400);
  });

  test('every /ui answer carries CSP, X-Frame-Options, nosniff and Referrer-Policy; assets stay immutable', async () => {
    const script = /src="\/ui\/(app-[^"]+\.js)"/.exec((await t.app.inject({ url: '/ui' })).body)?.[1];
    assert.ok(script);
    for (const url of ['/', '/ui', '/ui/', '/ui/keys', `/ui/${script}`, '/ui/api/session', '/ui/missing.js']) {
      const res = await t.app.inject({ url, headers: { 'accept-encoding': 'br, gzip' } });
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/, url);
      assert.match(csp, /script-src 'self'(;|$)/, `${url}: no inline or eval scripts`);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['referrer-policy'], 'same-origin', url);
    }
    const asset = await t.app.inject({ url: `/ui/${script}`, headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  test('GET /ui/api/models: every configured model with provider, price and health', async () => {
    const res = await t.app.inject({ url: '/ui/api/models', headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
    assert.equal(res.statusCode, 200, res.body);
    const byName = new Map(res.json().data.map((m: { model_name: string }) => [m.model_name, m]));
    assert.deepEqual(
      pick(byName.get('gpt-4o'), [
        'provider',
        'upstream_model',
        'price_source',
        'input_per_1m_usd',
        'rpm_limit',
        'health',
      ]),
      {
        provider: 'openai',
        upstream_model: 'gpt-4o',
        price_source: 'catalog',
        input_per_1m_usd: '2.5',
        rpm_limit: 100,
        health: 'idle',
      },
    );
    assert.deepEqual(pick(byName.get('house'), ['price_source', 'input_per_1m_usd', 'output_per_1m_usd']), {
      price_source: 'config',
      input_per_1m_usd: '2',
      output_per_1m_usd: '0',
    });
    assert.equal((byName.get('mystery') as { price_source: string }).price_source, 'unpriced');
  });

  test('GET /ui/api/models: success rate, last error, latency and RPM/TPM from recent calls', async () => {
    const now = Date.now();
    const rows = Array.from({ length: 10 }, (_, i) => ({
      request_id: `health-${i}`,
      start_time: Math.floor((now - 20_000 - i * 1000) / 1000),
      start_time_ms: now - 20_000 - i * 1000,
      end_time_ms: now - 20_000 - i * 1000 + 100 * (i + 1),
      duration_ms: 100 * (i + 1),
      model: 'gpt-4o',
      status: i < 2 ? 502 : 200,
      error_type: i < 2 ? 'upstream_error' : '',
      total_tokens: 100,
    }));
    await t.app.warehouse.insert('spend_logs', rows);
    const res = await t.app.inject({ url: '/ui/api/models', headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
    const gpt = res.json().data.find((m: { model_name: string }) => m.model_name === 'gpt-4o');
    assert.deepEqual(pick(gpt, ['requests', 'errors', 'success_rate', 'rpm', 'tpm', 'health']), {
      requests: 10,
      errors: 2,
      success_rate: 0.8,
      rpm: 10,
      tpm: 1000,
      health: 'degraded',
    });
    assert.equal(gpt.last_error.status, 502);
    assert.equal(gpt.last_error.error_type, 'upstream_error');
    assert.ok(gpt.p50_latency_ms >= 500 && gpt.p50_latency_ms <= 600, `p50 ${gpt.p50_latency_ms}`);
    assert.ok(gpt.p95_latency_ms >= 900, `p95 ${gpt.p95_latency_ms}`);
  });

  test('GET /ui/api/keys/last-used: the newest call per key', async () => {
    const now = Date.now();
    await t.app.warehouse.insert('spend_logs', [
      {
        request_id: 'lu-1',
        start_time: Math.floor((now - 60_000) / 1000),
        start_time_ms: now - 60_000,
        key_hash: 'k1',
      },
      { request_id: 'lu-2', start_time: Math.floor((now - 5_000) / 1000), start_time_ms: now - 5_000, key_hash: 'k1' },
    ]);
    const res = await t.app.inject({
      url: '/ui/api/keys/last-used',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().data.k1, new Date(now - 5_000).toISOString());
  });
});

function pick(value: unknown, fields: string[]): Record<string, unknown> {
  const source = value as Record<string, unknown>;
  return Object.fromEntries(fields.map((f) => [f, source[f]]));
}
