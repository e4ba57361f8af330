// The dashboard's defences against guessing and forgery, on a real app (Redis, ClickHouse): login throttling
// per address across usernames and per account with a short backoff, atomic under parallel guesses, never a
// lockout of the real admin; and cross-origin refusals for writes authenticated by the session cookie, while
// bearer-key callers (SDKs, curl -d) keep working. The throttle's clock-driven backoff is checked on
// LoginThrottle itself with an injected clock; the Origin matching rules on a bare fastify route.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { assertCookieWriteAllowed } from '../src/auth/crossOrigin.js';
import { registerErrorHandler } from '../src/http/errorHandler.js';
import { createRedis } from '../src/redis/plugin.js';
import { addressBucket, DEFAULT_LOGIN_LIMITS, LoginThrottle } from '../src/ui/server/loginThrottle.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const UI_PASSWORD = 'a dashboard password for the throttle test';
const { ipLimit, accountFreeFailures } = DEFAULT_LOGIN_LIMITS;
let t: TestApp;

before(async () => {
  t = await startTestApp({ ...testConfig(), uiPassword: UI_PASSWORD });
});
after(async () => t?.close());

function login(username: string, password: string, ip: string) {
  return t.app.inject({ method: 'POST', url: '/ui/api/login', payload: { username, password }, remoteAddress: ip });
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const header = res.headers['set-cookie'];
  const first = Array.isArray(header) ? header[0] : header;
  assert.ok(typeof first === 'string', 'a Set-Cookie header');
  return first.split(';')[0] ?? '';
}

describe('login throttling', () => {
  test('one address is throttled across usernames: 40 guesses under 40 names get 10 checks, then 429', async () => {
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 40; i++) {
      const res = await login(`user-${i}`, `guess-${i}`, '10.40.0.1');
      statuses.push(res.statusCode);
      if (res.statusCode === 429) retryAfter = Number(res.headers['retry-after']);
    }
    assert.equal(statuses.filter((s) => s === 401).length, ipLimit, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 40 - ipLimit);
    assert.ok(retryAfter > 60 && retryAfter <= 15 * 60, `retry-after ${retryAfter}`);
    // Another address of the same IPv6 /64 is the same budget; the real admin elsewhere is not affected.
    assert.equal((await login('admin', UI_PASSWORD, '10.40.0.2')).statusCode, 200);
  });

  test('30 parallel guesses from one address: exactly the limit are checked, the rest refused', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login('ops', `parallel-${i}`, '2001:db8:30:1::7')),
    );
    const statuses = results.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 401).length, ipLimit, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 30 - ipLimit);
    // Any address of that /64 shares the budget (one subscriber holds the whole /64).
    assert.equal((await login('ops', 'again', '2001:db8:30:1:ffff::1')).statusCode, 429);
  });

  test('an attacker hammering the admin account is throttled; the admin logs in from another address', async () => {
    const attacker = '10.50.0.66';
    for (let i = 0; i < ipLimit; i++) assert.equal((await login('admin', `nope-${i}`, attacker)).statusCode, 401);
    const throttled = await login('admin', UI_PASSWORD, attacker);
    assert.equal(throttled.statusCode, 429, 'even the right password is not checked from a throttled address');
    const admin = await login('admin', UI_PASSWORD, '10.50.0.1');
    assert.equal(admin.statusCode, 200, admin.body);
    assert.equal((await login('admin', 'still-guessing', attacker)).statusCode, 429);
  });

  test('guesses spread over many addresses put the account on a short backoff, not a lockout', async () => {
    for (let i = 0; i <= accountFreeFailures; i++) {
      assert.equal((await login('admin', `spread-${i}`, `10.60.${i}.1`)).statusCode, 401);
    }
    const backoff = await login('admin', UI_PASSWORD, '10.60.200.1');
    assert.equal(backoff.statusCode, 429);
    assert.match(backoff.json().error.message, /for this account: try again in \d+ seconds?/);
    const wait = Number(backoff.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= DEFAULT_LOGIN_LIMITS.accountMaxBackoffMs / 1000, `retry-after ${wait}`);
    // Other accounts (a key pasted as the password) are not held up by the admin account's backoff.
    assert.equal((await login('', TEST_MASTER_KEY, '10.60.200.1')).statusCode, 200);
  });
});

describe('LoginThrottle (injected clock)', () => {
  const redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379', keyPrefix: '' });
  const prefix = `test:login-throttle:${process.pid}:${Date.now()}:`;
  const prefixed = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379', keyPrefix: prefix });
  let clock = 1_800_000_000_000;
  const throttle = new LoginThrottle(prefixed, DEFAULT_LOGIN_LIMITS, () => clock);
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    prefixed.disconnect();
  });

  test('the account backoff doubles up to its cap, and after it the right password gets through', async () => {
    let ip = 0;
    const nextIp = () => `192.0.2.${++ip}`;
    for (let i = 0; i < accountFreeFailures; i++)
      assert.deepEqual(await throttle.admit('ops', nextIp()), { admitted: true });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(await throttle.admit('ops', nextIp()), { admitted: true }, `attempt after backoff ${i}`);
      const refused = await throttle.admit('ops', nextIp());
      assert.equal(refused.admitted, false);
      if (refused.admitted) continue;
      assert.equal(refused.by, 'account');
      waits.push(refused.retryAfterMs);
      clock += refused.retryAfterMs;
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    // The real user, after the backoff: checked, right, and the account is clear again.
    assert.deepEqual(await throttle.admit('ops', '198.51.100.1'), { admitted: true });
    await throttle.succeeded('ops', '198.51.100.1');
    assert.deepEqual(await throttle.admit('ops', '198.51.100.1'), { admitted: true });
  });

  test('an address is refused for the rest of its window, then may try again', async () => {
    for (let i = 0; i < ipLimit; i++) await throttle.admit(`name-${i}`, '203.0.113.9');
    const refused = await throttle.admit('other', '203.0.113.9');
    assert.equal(refused.admitted, false);
    assert.equal(refused.admitted === false && refused.by, 'ip');
    clock += DEFAULT_LOGIN_LIMITS.ipWindowMs;
    assert.deepEqual(await throttle.admit('other', '203.0.113.9'), { admitted: true });
  });

  test('a success gives back only its own attempt: logging in with your own key does not reset a guesser', async () => {
    const ip = '203.0.113.77';
    for (let i = 0; i < ipLimit - 1; i++) await throttle.admit(`guess-${i}`, ip);
    await throttle.admit('', ip);
    await throttle.succeeded('', ip);
    assert.deepEqual(await throttle.admit('one-more', ip), { admitted: true });
    assert.equal((await throttle.admit('and-another', ip)).admitted, false);
  });

  test('addresses are counted by IPv4, or by IPv6 /64', () => {
    assert.equal(addressBucket('::ffff:192.0.2.5'), '192.0.2.5');
    assert.equal(addressBucket('192.0.2.5'), '192.0.2.5');
    assert.equal(addressBucket('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:db8::1'), '2001:db8:0:0::/64');
    assert.notEqual(addressBucket('2001:db8:1:3::1'), addressBucket('2001:db8:1:2::1'));
    assert.equal(addressBucket('::1'), '0:0:0:0::/64');
  });
});

describe('cross-origin writes with the session cookie', () => {
  let cookie = '';
  before(async () => {
    const res = await login('', TEST_MASTER_KEY, '10.70.0.1');
    assert.equal(res.statusCode, 200, res.body);
    cookie = cookieOf(res);
  });

  let probes = 0;
  const probe = () => JSON.stringify({ key_alias: `csrf-probe-${++probes}` });
  const generate = (headers: Record<string, string>, payload = probe()) =>
    t.app.inject({ method: 'POST', url: '/key/generate', headers: { cookie, ...headers }, payload });
  const keyCount = async () =>
    (await t.app.inject({ url: '/key/list', headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } })).json().keys
      .length as number;
  const FORM = 'application/x-www-form-urlencoded';
  const JSON_TYPE = 'application/json';

  test('a form POST from another origin (the issue 16 probe) is refused and creates nothing', async () => {
    const before = await keyCount();
    const res = await generate({ 'content-type': FORM, origin: 'http://evil.example' });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json().error.param, 'origin');
    assert.equal(await keyCount(), before);
  });

  test('JSON from another origin, a sibling port, a same-site page or an opaque origin: 403', async () => {
    const cases: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'http://localhost:8080' },
      { origin: 'http://localhost:8080', 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      { referer: 'http://evil.example/page' },
      {},
    ];
    for (const headers of cases) {
      const res = await generate({ 'content-type': JSON_TYPE, ...headers });
      assert.equal(res.statusCode, 403, `${JSON.stringify(headers)}: ${res.body}`);
    }
  });

  test('our own origin with a form or text body: 415 (JSON only)', async () => {
    const before = await keyCount();
    for (const type of [FORM, 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await generate({ 'content-type': type, origin: 'http://localhost' });
      assert.equal(res.statusCode, 415, `${type}: ${res.body}`);
    }
    assert.equal(await keyCount(), before);
  });

  test("the dashboard's own requests work: Sec-Fetch-Site same-origin, or a matching Origin or Referer", async () => {
    const sameOrigin: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { origin: 'http://localhost' },
      { origin: 'http://localhost:80' },
      { referer: 'http://localhost/ui/keys' },
    ];
    for (const headers of sameOrigin) {
      const res = await generate({ 'content-type': 'application/json; charset=utf-8', ...headers });
      assert.equal(res.statusCode, 200, `${JSON.stringify(headers)}: ${res.body}`);
    }
    // Reads are not writes: a GET with the cookie needs no Origin.
    assert.equal((await t.app.inject({ url: '/key/list', headers: { cookie } })).statusCode, 200);
  });

  test('bearer-key callers are unaffected: curl -d (form content type) from anywhere still works', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/key/generate',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': FORM, origin: 'http://evil.example' },
      payload: probe(),
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  test('logout and login refuse another origin', async () => {
    const out = await t.app.inject({
      method: 'POST',
      url: '/ui/api/logout',
      headers: { cookie, origin: 'http://evil.example', 'content-type': JSON_TYPE },
      payload: '{}',
    });
    assert.equal(out.statusCode, 403);
    assert.equal((await t.app.inject({ url: '/ui/api/session', headers: { cookie } })).statusCode, 200);
    const forged = await t.app.inject({
      method: 'POST',
      url: '/ui/api/login',
      headers: { origin: 'http://evil.example' },
      payload: { username: '', password: TEST_MASTER_KEY },
    });
    assert.equal(forged.statusCode, 403);
  });
});

describe('origin matching', () => {
  const server = Fastify();
  registerErrorHandler(server);
  server.post('/write', async (request) => {
    assertCookieWriteAllowed(request, 'https://spend.example.com');
    return { ok: true };
  });
  after(() => server.close());
  const write = (headers: Record<string, string>) =>
    server.inject({
      method: 'POST',
      url: '/write',
      headers: { 'content-type': 'application/json', ...headers },
      payload: '{}',
    });

  test('the configured public URL is accepted when a proxy rewrites Host; the scheme behind TLS is not compared', async () => {
    assert.equal((await write({ host: '10.0.0.5:4000', origin: 'https://spend.example.com' })).statusCode, 200);
    assert.equal((await write({ host: '10.0.0.5:4000', origin: 'https://spend.example.com:8443' })).statusCode, 403);
    assert.equal((await write({ host: 'dash.internal', origin: 'https://dash.internal' })).statusCode, 200);
    assert.equal((await write({ host: 'dash.internal:443', origin: 'https://dash.internal' })).statusCode, 200);
    assert.equal(
      (await write({ host: 'dash.internal', origin: 'https://dash.internal.evil.example' })).statusCode,
      403,
    );
    assert.equal((await write({ host: 'dash.internal', origin: 'not a url' })).statusCode, 403);
  });

  test('a bodiless write needs no content type, only the origin', async () => {
    const post = await server.inject({
      method: 'POST',
      url: '/write',
      headers: { host: 'a.example', origin: 'http://a.example' },
    });
    assert.equal(post.statusCode, 200, post.body);
  });
});
