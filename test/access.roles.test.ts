// Who sees and does what, by role, against real ClickHouse and Redis: a key with the `ingest` permission may
// write records (and nothing admin), a team admin's key sees its team's spend and no other, a plain member's
// key only its own, a proxy_admin_viewer's key sees everything but cannot manage, a proxy_admin's key can.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../src/auth/principal.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const FROM = new Date(BASE_MS).toISOString();
const TO = new Date(BASE_MS + 24 * HOUR_MS).toISOString();

describe('access by role', () => {
  let t: TestApp;
  const keys: Record<string, string> = {};

  const call = (method: 'GET' | 'POST', url: string, key: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
  const admin = async (url: string, payload: unknown) => {
    const res = await call('POST', url, TEST_MASTER_KEY, payload);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const totals = async (key: string, body: Record<string, unknown> = {}) => {
    const res = await call('POST', '/spend/query', key, { from: FROM, to: TO, metrics: ['cost', 'requests'], ...body });
    assert.equal(res.statusCode, 200, res.body);
    const { cost_nano, requests } = res.json().totals as { cost_nano: number; requests: number };
    return { cost_nano, requests };
  };

  before(async () => {
    t = await startTestApp(testConfig());
    await admin('/user/new', { user_id: 'lead', user_role: 'internal_user' });
    await admin('/user/new', { user_id: 'dev', user_role: 'internal_user' });
    await admin('/user/new', { user_id: 'auditor', user_role: 'proxy_admin_viewer' });
    await admin('/user/new', { user_id: 'ops', user_role: 'proxy_admin' });
    await admin('/team/new', {
      team_id: 'growth',
      members_with_roles: [
        { user_id: 'lead', role: 'admin' },
        { user_id: 'dev', role: 'user' },
      ],
    });
    await admin('/team/new', { team_id: 'search', members_with_roles: [{ user_id: 'dev', role: 'user' }] });
    const generate = async (name: string, body: Record<string, unknown>) => {
      keys[name] = (await admin('/key/generate', { key_alias: name, ...body })).key;
    };
    await generate('lead', { user_id: 'lead', team_id: 'growth' });
    await generate('dev', { user_id: 'dev', team_id: 'growth' });
    await generate('dev-search', { user_id: 'dev', team_id: 'search' });
    await generate('auditor', { user_id: 'auditor' });
    await generate('ops', { user_id: 'ops' });
    await generate('ingester', { permissions: ['ingest'] });
    await generate('ingester-litellm', { permissions: { ingest: true } });
    await generate('ingester-growth', { permissions: ['ingest'], team_id: 'growth' });
    const row = (id: string, key: string, team: string, cost: number, tags: string[] = []): CallRow => ({
      request_id: id,
      start_ms: BASE_MS + HOUR_MS,
      key,
      team,
      cost_nano: cost,
      tags,
    });
    // Rows carry the key hash like proxied calls do: the secret → sha256 in spendLogRow.
    await insertCalls(t.app.warehouse, [
      row('g-lead', keys.lead as string, 'growth', 1_000, ['project:growth-x']),
      row('g-dev', keys.dev as string, 'growth', 20_000),
      row('s-dev', keys['dev-search'] as string, 'search', 300_000),
      row('s-other', 'sk-not-a-key-of-this-app', 'search', 4_000_000, ['project:search-y']),
    ]);
  });
  after(() => t.close());

  it("raw tag questions through the tag-set index tell no caller about other teams' or keys' tags", async () => {
    const rawTags = async (key: string, tag: string) => {
      const res = await call('POST', '/spend/query', key, {
        from: FROM,
        to: TO,
        source: 'raw',
        tags: { any: [tag] },
        metrics: ['cost', 'requests'],
      });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { tag_sets_matched: number | null; totals: { requests: number } };
      return { sets: body.tag_sets_matched, requests: body.totals.requests };
    };
    assert.deepEqual(await rawTags(TEST_MASTER_KEY, 'project:search-y'), { sets: 1, requests: 1 });
    // The team admin: its team's sets only — another team's tag is not even counted.
    assert.deepEqual(await rawTags(keys.lead as string, 'project:growth-x'), { sets: 1, requests: 1 });
    assert.deepEqual(await rawTags(keys.lead as string, 'project:search-y'), { sets: 0, requests: 0 });
    // A key-scoped caller is never told a count (the sets are counted over every key).
    assert.deepEqual(await rawTags(keys.dev as string, 'project:growth-x'), { sets: null, requests: 0 });
  });

  it('a team admin sees the whole team, nothing of other teams, whatever it asks for', async () => {
    assert.deepEqual(await totals(keys.lead as string), { cost_nano: 21_000, requests: 2 });
    const sneaky = await totals(keys.lead as string, { filters: { team: { in: ['search'] } } });
    assert.equal(sneaky.requests, 0);
    const logs = await call('GET', `/spend/logs/v2?start_date=${FROM}&end_date=${TO}`, keys.lead as string);
    assert.equal(logs.statusCode, 200, logs.body);
    const ids = (logs.json().data as { request_id: string }[]).map((r) => r.request_id).sort();
    assert.deepEqual(ids, ['g-dev', 'g-lead']);
    const foreign = await call('GET', '/spend/logs/v2/s-dev', keys.lead as string);
    assert.equal(foreign.statusCode, 404, foreign.body);
  });

  it('a plain member sees only its own key, even in a team it belongs to', async () => {
    assert.deepEqual(await totals(keys.dev as string), { cost_nano: 20_000, requests: 1 });
    assert.deepEqual(await totals(keys['dev-search'] as string), { cost_nano: 300_000, requests: 1 });
    const own = await call('GET', '/spend/logs/v2/g-dev', keys.dev as string);
    assert.equal(own.statusCode, 200, own.body);
    const teammate = await call('GET', '/spend/logs/v2/g-lead', keys.dev as string);
    assert.equal(teammate.statusCode, 404, teammate.body);
  });

  it('a proxy_admin_viewer sees all spend but cannot manage; a proxy_admin can', async () => {
    assert.deepEqual(await totals(keys.auditor as string), { cost_nano: 4_321_000, requests: 4 });
    const viewerList = await call('GET', '/key/list', keys.auditor as string);
    assert.equal(viewerList.statusCode, 403, viewerList.body);
    const opsList = await call('GET', '/key/list', keys.ops as string);
    assert.equal(opsList.statusCode, 200, opsList.body);
    assert.deepEqual(await totals(keys.ops as string), { cost_nano: 4_321_000, requests: 4 });
  });

  it("a proxy_admin's dashboard session is its key's, so blocking the key ends it at once", async () => {
    await admin('/key/generate', { key_alias: 'ops-ui', user_id: 'ops', key: 'sk-ops-dashboard-0123' });
    const login = await t.app.inject({
      method: 'POST',
      url: '/ui/api/login',
      payload: { username: '', password: 'sk-ops-dashboard-0123' },
    });
    assert.equal(login.statusCode, 200, login.body);
    const setCookie = login.headers['set-cookie'];
    const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0] ?? '';
    const list = () => t.app.inject({ method: 'GET', url: '/key/list', headers: { cookie } });
    assert.equal((await list()).statusCode, 200);
    const session = await t.app.inject({ method: 'GET', url: '/ui/api/session', headers: { cookie } });
    assert.equal(session.json().keyAlias, 'ops-ui');
    await admin('/key/block', { key: 'sk-ops-dashboard-0123' });
    assert.equal((await list()).statusCode, 401);
  });

  it('only keys with the ingest permission (or admins) may write records', async () => {
    const record = (id: string) => ({
      request_id: id,
      start_time: new Date(BASE_MS + 2 * HOUR_MS).toISOString(),
      model: 'gpt-4o-mini',
      team_id: 'growth',
      cost_usd: '0.000001',
    });
    for (const name of ['ingester', 'ingester-litellm']) {
      const res = await call('POST', '/ingest/v1/records', keys[name] as string, [record(`ing-${name}`)]);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().accepted, 1, res.body);
    }
    for (const name of ['lead', 'auditor']) {
      const res = await call('POST', '/ingest/v1/records', keys[name] as string, [record(`no-${name}`)]);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.json().error.message, /`ingest` permission/);
    }
    // A team's ingest key writes only its team's records: others are rejected by field, none given = its team.
    const pinned = await call('POST', '/ingest/v1/records', keys['ingester-growth'] as string, [
      { ...record('pin-own'), team_id: 'growth' },
      { ...record('pin-none'), team_id: undefined },
      { ...record('pin-other'), team_id: 'search', cost_usd: '1000000' },
    ]);
    assert.equal(pinned.statusCode, 200, pinned.body);
    const results = pinned.json().results as { request_id: string; status: string; errors?: { field: string }[] }[];
    assert.deepEqual(
      results.map((r) => [r.request_id, r.status, r.errors?.[0]?.field]),
      [
        ['pin-own', 'accepted', undefined],
        ['pin-none', 'accepted', undefined],
        ['pin-other', 'rejected', 'team_id'],
      ],
    );
    // The permission is no admin right: the ingest key cannot manage, and sees only its own (empty) spend.
    assert.equal((await call('GET', '/key/list', keys.ingester as string)).statusCode, 403);
    assert.deepEqual(await totals(keys.ingester as string), { cost_nano: 0, requests: 0 });
    const info = await call('GET', `/key/info?key=${hashKey(keys['ingester-litellm'] as string)}`, TEST_MASTER_KEY);
    assert.deepEqual(info.json().info.permissions, ['ingest']);
  });

  it('names the field of a bad permission', async () => {
    for (const permissions of [['delete_everything'], { ingest: 'yes' }, 'ingest']) {
      const res = await call('POST', '/key/generate', TEST_MASTER_KEY, { permissions });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.body, /permissions/);
    }
  });
});
