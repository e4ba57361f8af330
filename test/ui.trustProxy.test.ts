// server.trust_proxy: behind a reverse proxy every client arrives from the proxy's address, so the login
// throttle would be one shared budget for everybody; with the proxy trusted, each client is counted by its
// X-Forwarded-For address. Without the setting, X-Forwarded-For is a header any client can forge and is ignored.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_LOGIN_LIMITS } from '../src/ui/server/loginThrottle.js';
import { startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

const UI_PASSWORD = 'a dashboard password for the trust_proxy test';
const PROXY_ADDRESS = '10.70.0.1';
const apps: TestApp[] = [];
after(async () => {
  for (const t of apps) await t.close();
});

async function appWith(server: Record<string, unknown>): Promise<TestApp> {
  const t = await startTestApp({ ...testConfig({ server }), uiPassword: UI_PASSWORD });
  apps.push(t);
  return t;
}

function login(t: TestApp, password: string, forwardedFor: string) {
  return t.app.inject({
    method: 'POST',
    url: '/ui/api/login',
    payload: { username: 'admin', password },
    remoteAddress: PROXY_ADDRESS,
    headers: { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'https' },
  });
}

for (const trust of [[PROXY_ADDRESS], 1] as const) {
  test(`trusted proxy (${JSON.stringify(trust)}): the throttle counts each forwarded client; the cookie is Secure behind https`, async () => {
    const t = await appWith({ trust_proxy: trust });
    for (let i = 0; i < DEFAULT_LOGIN_LIMITS.ipLimit; i++) {
      assert.equal((await login(t, `guess-${i}`, '198.51.100.7')).statusCode, 401);
    }
    assert.equal((await login(t, 'guess-again', '198.51.100.7')).statusCode, 429);
    // Another client behind the same proxy is not throttled by the first one's guesses.
    const admin = await login(t, UI_PASSWORD, '203.0.113.9');
    assert.equal(admin.statusCode, 200, admin.body);
    assert.match(String(admin.headers['set-cookie']), /;\s*Secure/i);
  });
}

test('untrusted (default): X-Forwarded-For is ignored, so forging it does not escape the throttle', async () => {
  const t = await appWith({});
  for (let i = 0; i < DEFAULT_LOGIN_LIMITS.ipLimit; i++) {
    assert.equal((await login(t, `guess-${i}`, `198.51.100.${i}`)).statusCode, 401);
  }
  assert.equal((await login(t, 'forged', '192.0.2.200')).statusCode, 429);
});

test('trust_proxy must be true, a hop count or a list of addresses', async () => {
  await assert.rejects(() => appWith({ trust_proxy: 'everyone' }), /server\.trust_proxy/);
});
