// The dashboard shows team / key / user / customer aliases instead of ids: GET /ui/api/names answers the
// names of the ids one page shows (control plane, config keys, the master key), within the caller's spend
// scope; the Spend CSV and the Logs CSV carry each name beside its id (which filters keep using).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/auth/principal.js';
import { logsCsv } from '../src/ui/app/logs/logsApi.js';
import { spendCsv } from '../src/ui/app/spend/csv.js';
import type { QueryResult } from '../src/ui/app/spend/spendApi.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const STATIC_KEY = 'sk-static-config-key-0001';
let t: TestApp;
let teamAKey = '';
let teamBKey = '';

async function admin(url: string, payload: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    payload,
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.json();
}

async function names(query: string, key = TEST_MASTER_KEY) {
  const res = await t.app.inject({ url: `/ui/api/names?${query}`, headers: { authorization: `Bearer ${key}` } });
  return { status: res.statusCode, body: res.json() };
}

before(async () => {
  t = await startTestApp(testConfig({ keys: [{ key: STATIC_KEY, key_alias: 'config-key', team_id: 'team-a' }] }));
  await admin('/team/new', { team_id: 'team-a', team_alias: 'Team A' });
  await admin('/team/new', { team_id: 'team-b', team_alias: 'Team B' });
  await admin('/user/new', { user_id: 'alice', user_alias: 'Alice', user_email: 'alice@acme.com' });
  await admin('/user/new', { user_id: 'bob', user_email: 'bob@acme.com' });
  await admin('/customer/new', { user_id: 'cust-1', alias: 'Acme Corp' });
  teamAKey = (await admin('/key/generate', { key_alias: 'a-key', team_id: 'team-a', user_id: 'alice' })).key;
  teamBKey = (await admin('/key/generate', { key_alias: 'b-key', team_id: 'team-b', user_id: 'bob' })).key;
});
after(async () => t?.close());

test('an admin gets the names of every kind of id in one request; unknown ids are left out', async () => {
  const q = new URLSearchParams();
  for (const team of ['team-a', 'team-b', 'team-none']) q.append('team', team);
  for (const key of [hashKey(teamAKey), hashKey(STATIC_KEY), hashKey(TEST_MASTER_KEY), 'no-such-hash'])
    q.append('key', key);
  for (const user of ['alice', 'bob', 'nobody']) q.append('user', user);
  q.append('customer', 'cust-1');
  const { status, body } = await names(q.toString());
  assert.equal(status, 200);
  assert.deepEqual(body, {
    team: { 'team-a': 'Team A', 'team-b': 'Team B' },
    key: { [hashKey(teamAKey)]: 'a-key', [hashKey(STATIC_KEY)]: 'config-key', [hashKey(TEST_MASTER_KEY)]: 'master' },
    user: { alice: 'Alice', bob: 'bob@acme.com' },
    customer: { 'cust-1': 'Acme Corp' },
  });
});

test("a key's session gets only the names of its own key, team and user", async () => {
  const q = new URLSearchParams();
  for (const team of ['team-a', 'team-b']) q.append('team', team);
  for (const key of [hashKey(teamAKey), hashKey(teamBKey), hashKey(STATIC_KEY)]) q.append('key', key);
  for (const user of ['alice', 'bob']) q.append('user', user);
  q.append('customer', 'cust-1');
  const { status, body } = await names(q.toString(), teamAKey);
  assert.equal(status, 200);
  assert.deepEqual(body, {
    team: { 'team-a': 'Team A' },
    key: { [hashKey(teamAKey)]: 'a-key' },
    user: { alice: 'Alice' },
    customer: {},
  });
});

test('bad requests: too many ids or an unknown kind is a 400 naming the field; no key is a 401', async () => {
  const many = Array.from({ length: 101 }, (_, i) => `team=t${i}`).join('&');
  const tooMany = await names(many);
  assert.equal(tooMany.status, 400);
  assert.match(JSON.stringify(tooMany.body), /team/);
  const unknown = await names('group=x');
  assert.equal(unknown.status, 400);
  assert.match(JSON.stringify(unknown.body), /group/);
  const anonymous = await t.app.inject({ url: '/ui/api/names?team=team-a' });
  assert.equal(anonymous.statusCode, 401);
});

test('the Spend CSV keeps ids in `value` and adds the names shown; the Logs CSV puts names beside ids', async () => {
  const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', granularity: 'day' as const };
  const result = {
    from: window.from,
    to: window.to,
    rows: [
      { team: 'team-a', cost_usd: '0.002000000', requests: 2, total_tokens: 30 },
      { team: 'team-z', cost_usd: '0.001000000', requests: 1, total_tokens: 10 },
    ],
    totals: {},
  };
  const csv = spendCsv(window, { all: [], any: [], none: [] }, null, null, {
    team: {
      result: result as unknown as QueryResult,
      names: { team: { 'team-a': 'Team A' }, key: {}, user: {}, customer: {} },
    },
  });
  const lines = csv.split('\r\n');
  assert.equal(lines[0], 'section,dimension,value,cost_usd,requests,total_tokens,errors,unpriced_requests,name');
  assert.ok(lines.includes('breakdown,team,team-a,0.002000000,2,30,,,Team A'), csv);
  assert.ok(lines.includes('breakdown,team,team-z,0.001000000,1,10,,,'), csv);

  // One real call's entry from the logs API, exported with the page's names.
  await t.app.warehouse.insert('spend_logs', [
    {
      request_id: 'csv-1',
      response_id: 'chatcmpl-csv',
      start_time: Math.floor(Date.now() / 1000),
      start_time_ms: Date.now(),
      end_time_ms: Date.now() + 5,
      duration_ms: 5,
      model: 'gpt-4o',
      provider: 'openai',
      status: 200,
      key_hash: hashKey(teamAKey),
      key_alias: 'a-key-then',
      team_id: 'team-a',
      user_id: 'alice',
      customer_id: 'cust-1',
      cost_nano: 1_500_000,
      cost_status: 'priced',
      total_tokens: 12,
      tags: ['prod'],
    },
  ]);
  const res = await t.app.inject({
    url: '/spend/logs/v2?start_date=-1h&end_date=now',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  const page = res.json();
  const q = new URLSearchParams({ team: 'team-a', key: hashKey(teamAKey), user: 'alice', customer: 'cust-1' });
  const logs = logsCsv({ ...page, names: (await names(q.toString())).body });
  const [header, row] = logs.split('\r\n');
  const cells = Object.fromEntries((header ?? '').split(',').map((h, i) => [h, (row ?? '').split(',')[i]]));
  assert.deepEqual(
    [cells.key_name, cells.team_name, cells.team_id, cells.user_name, cells.user_id, cells.customer_name],
    ['a-key', 'Team A', 'team-a', 'Alice', 'alice', 'Acme Corp'],
  );
  assert.deepEqual(
    [cells.request_id, cells.response_id, cells.cost_usd, cells.key_hash],
    ['csv-1', 'chatcmpl-csv', '0.001500000', hashKey(teamAKey)],
  );
});
