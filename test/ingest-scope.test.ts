// Issue 16: a team's ingest key writes only its own team's money. Against real ClickHouse and Redis: a
// record naming another team's key, a user outside the team, a customer or tag with a budget of its own is
// rejected naming the field, and no budget counter moves; the team's own key, member, tags and an
// unbudgeted customer are accepted and charged.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashKey, type Principal } from '../src/auth/principal.js';
import { ledgerKeys } from '../src/budgets/ledger.js';
import { ingestScopeChecker } from '../src/ingest/teamScope.js';
import { LIFETIME } from '../src/periods.js';
import { spendRecord } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

async function call(url: string, key: string, body: unknown) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Record<string, unknown>;
}
const admin = (url: string, body: unknown) => call(url, TEST_MASTER_KEY, body);
const spent = async (scopeId: string) => (await t.app.budgetLedger.read(ledgerKeys.scope(scopeId, LIFETIME))).spent;

test("a team's ingest key cannot charge another team's key, a non-member, or a budgeted customer or tag", async () => {
  await admin('/user/new', { user_id: 'member-a' });
  await admin('/user/new', { user_id: 'stranger', max_budget: 1 });
  await admin('/team/new', {
    team_id: 'scope-a',
    tags: ['a-project'],
    members_with_roles: [{ user_id: 'member-a', role: 'user' }],
    max_budget: 100,
  });
  await admin('/team/new', { team_id: 'scope-b' });
  const keyB = (await admin('/key/generate', { team_id: 'scope-b', max_budget: 1 })) as {
    key: string;
    token_id: string;
  };
  const keyA = (await admin('/key/generate', { team_id: 'scope-a', max_budget: 100 })) as {
    key: string;
    token_id: string;
  };
  const ingester = (await admin('/key/generate', { team_id: 'scope-a', permissions: ['ingest'] })) as { key: string };
  await admin('/customer/new', { user_id: 'cust-budget', max_budget: 1 });
  await admin('/tag/new', { name: 'tag-budget', max_budget: 1 });
  await admin('/tag/new', { name: 'a-project', max_budget: 100 });

  const base = (id: string) => ({
    request_id: id,
    start_time: new Date().toISOString(),
    model: 'gpt-4o',
    cost_usd: '2',
  });
  const outcome = (await call('/ingest/v1/records', ingester.key, [
    { ...base('scope-key-b'), key_hash: hashKey(keyB.key) },
    { ...base('scope-key-unknown'), key_hash: 'f'.repeat(64) },
    { ...base('scope-user'), user_id: 'stranger' },
    { ...base('scope-customer'), customer_id: 'cust-budget' },
    { ...base('scope-tag'), tags: ['free-tag', 'tag-budget'] },
    {
      ...base('scope-own'),
      key_hash: hashKey(keyA.key),
      user_id: 'member-a',
      customer_id: 'cust-free',
      tags: ['a-project', 'free-tag'],
    },
  ])) as { results: { request_id: string; status: string; errors?: { field: string; reason: string }[] }[] };
  assert.deepEqual(
    outcome.results.map((r) => [r.request_id, r.status, r.errors?.[0]?.field]),
    [
      ['scope-key-b', 'rejected', 'key_hash'],
      ['scope-key-unknown', 'rejected', 'key_hash'],
      ['scope-user', 'rejected', 'user_id'],
      ['scope-customer', 'rejected', 'customer_id'],
      ['scope-tag', 'rejected', 'tags'],
      ['scope-own', 'accepted', undefined],
    ],
  );
  assert.match(outcome.results[4]?.errors?.[0]?.reason ?? '', /tag-budget/);

  // Nothing outside the team moved; what the accepted record charges did.
  assert.equal(await spent(`key:${keyB.token_id}`), 0);
  assert.equal(await spent('user:stranger'), 0);
  assert.equal(await spent('customer:cust-budget'), 0);
  assert.equal(await spent('tag:tag-budget'), 0);
  assert.equal(await spent(`key:${keyA.token_id}`), 2_000_000_000);
  assert.equal(await spent('tag:a-project'), 2_000_000_000);
  assert.equal(await spent('team:scope-a'), 2_000_000_000);

  // The master key is not restricted.
  const master = (await admin('/ingest/v1/records', [{ ...base('scope-master'), key_hash: hashKey(keyB.key) }])) as {
    accepted: number;
  };
  assert.equal(master.accepted, 1);
});

test('without a control plane (role worker), a team key may write only its own tags: any other may carry a budget', async () => {
  const principal: Principal = {
    kind: 'key',
    isAdmin: false,
    spendVisibility: 'key',
    permissions: ['ingest'],
    keyHash: 'ingest-key-hash',
    keyAlias: null,
    userId: null,
    teamId: 'team-w',
    models: [],
    tags: ['app:batch'],
    metadata: {},
  };
  const check = ingestScopeChecker(null)(principal);
  const record = (tags: string[]) => ({
    ...spendRecord('noplane', 1),
    key_hash: null,
    user_id: null,
    team_id: null,
    customer_id: null,
    tags,
  });
  assert.equal(await check(record(['app:batch'])), null);
  const refused = await check(record(['app:batch', 'cost-center:other']));
  assert.equal(refused?.field, 'tags');
  assert.match(refused?.reason ?? '', /cost-center:other/);
});
