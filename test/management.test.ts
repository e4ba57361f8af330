// The management API: validation (400 naming the field), conflicts (409), nothing half-written, key
// rotation with a grace period, revocation across instances, expiry, and LiteLLM's response shapes with
// spend read from ClickHouse.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { AppError } from '../src/errors.js';
import { adminGet, curlPost, insertSpend, principalFor, simulateCall } from './budgetCalls.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

let clock = new Date('2026-11-27T10:00:00Z');
let t: TestApp;
let other: FastifyInstance;
before(async () => {
  t = await startTestApp(undefined, { now: () => clock });
  other = await buildApp({ config: t.config, now: () => clock });
});
after(async () => {
  await other.close();
  await t.close();
});

async function authError(app: FastifyInstance, secret: string): Promise<string | null> {
  try {
    await principalFor(app, secret);
    return null;
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 401);
    return err.message;
  }
}

test('bad input → 400 naming the field, and nothing is written', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/key/generate', { key_alias: 'k', frobnicate: true }, 'frobnicate'],
    ['/key/generate', { max_budget: -5 }, 'max_budget'],
    ['/key/generate', { budget_duration: '3 days' }, 'budget_duration'],
    ['/key/generate', { team_id: 'no-such-team' }, 'team_id'],
    ['/key/generate', { model_max_budget: { 'gpt-4o': -1 } }, 'model_max_budget.gpt-4o'],
    ['/team/new', { team_alias: 'x', max_budget: 'lots' }, 'max_budget'],
    ['/team/new', { team_alias: 'x', rpm_limit: 1.5 }, 'rpm_limit'],
    ['/user/new', { user_email: 'ghost@acme.com', team_id: 'no-such-team' }, 'team_id'],
    ['/user/new', { user_email: 'ghost@acme.com', budget_id: 'no-such-tier' }, 'budget_id'],
    ['/customer/new', { user_id: 'c', soft_budget: -1 }, 'soft_budget'],
    ['/budget/new', { budget_id: 'tier', budget_duration: '1y' }, 'budget_duration'],
  ];
  for (const [url, body, param] of cases) {
    const r = await curlPost(t.app, url, body);
    assert.equal(r.status, 400, `${url} ${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    const error = r.body.error as { param: string; message: string };
    assert.equal(error.param, param, JSON.stringify(r.body));
    assert.ok(error.message.startsWith(param), error.message);
  }
  const users = await adminGet(t.app, '/user/list');
  assert.deepEqual(users.body.users, [], 'the refused /user/new wrote no user');
  const keys = await adminGet(t.app, '/key/list');
  assert.equal(keys.body.total_count, 0, 'no key was written either');

  const notJson = await t.app.inject({
    method: 'POST',
    url: '/team/new',
    headers: { authorization: `Bearer ${t.config.masterKey}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'team_alias=x',
  });
  assert.equal(notJson.statusCode, 400);
  const anonymous = await t.app.inject({ method: 'POST', url: '/team/new', payload: {} });
  assert.equal(anonymous.statusCode, 401);
});

test('duplicate alias → 409, also when the creates race each other', async () => {
  assert.equal((await curlPost(t.app, '/key/generate', { key_alias: 'dup' })).status, 200);
  const again = await curlPost(t.app, '/key/generate', { key_alias: 'dup' });
  assert.equal(again.status, 409);
  assert.equal((again.body.error as { param: string }).param, 'key_alias');

  const racing = await Promise.all(
    Array.from({ length: 6 }, (_, i) => curlPost(i % 2 ? other : t.app, '/team/new', { team_alias: 'racing-team' })),
  );
  assert.equal(racing.filter((r) => r.status === 200).length, 1, JSON.stringify(racing.map((r) => r.status)));
  assert.ok(racing.every((r) => r.status === 200 || r.status === 409));
  const teams = (await adminGet(t.app, '/team/list')).body as unknown as { team_alias: string }[];
  assert.equal(teams.filter((x) => x.team_alias === 'racing-team').length, 1);

  assert.equal((await curlPost(t.app, '/user/new', { user_email: 'carol@acme.com' })).status, 200);
  assert.equal((await curlPost(t.app, '/user/new', { user_email: 'carol@acme.com' })).status, 409);
});

test('rotate with a grace period: both keys work until it ends; budget follows the key', async () => {
  const created = await curlPost(t.app, '/key/generate', { key_alias: 'rotating', max_budget: 2 });
  const oldSecret = String(created.body.key);
  const before = await principalFor(t.app, oldSecret);
  assert.ok((await simulateCall(t.app, before, { maxCostNano: 1.5e9, costNano: 1.5e9, now: clock })).ok);

  const rotated = await curlPost(t.app, '/key/regenerate', { key: oldSecret, grace_period: '1h' });
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const newSecret = String(rotated.body.key);
  assert.notEqual(newSecret, oldSecret);
  assert.equal(rotated.body.key_alias, 'rotating');
  const viaOld = await principalFor(t.app, oldSecret);
  const viaNew = await principalFor(t.app, newSecret);
  assert.equal(viaOld.keyHash, viaNew.keyHash, 'the old secret acts as the new key during the grace period');
  // $1.50 already spent under the old secret counts against the same key budget.
  assert.equal((await simulateCall(t.app, viaNew, { maxCostNano: 1e9, costNano: 1e9, now: clock })).ok, false);
  assert.ok((await simulateCall(t.app, viaNew, { maxCostNano: 0.5e9, costNano: 0.5e9, now: clock })).ok);

  // Rotated again within the grace period: the first secret follows the chain to the newest key.
  const again = await curlPost(t.app, '/key/regenerate', { key: newSecret, grace_period: '1h' });
  const newest = String(again.body.key);
  assert.equal((await principalFor(t.app, oldSecret)).keyHash, again.body.token);
  assert.equal((await principalFor(t.app, newSecret)).keyHash, again.body.token);

  clock = new Date(clock.getTime() + 3600_000);
  assert.equal(await authError(t.app, oldSecret), 'invalid API key');
  assert.equal(await authError(t.app, newSecret), 'invalid API key');
  assert.equal(await authError(t.app, newest), null);

  const immediate = await curlPost(t.app, '/key/regenerate', { key: newest });
  assert.equal(await authError(t.app, newest), 'invalid API key');
  assert.equal(await authError(t.app, String(immediate.body.key)), null);
});

test('revoke, block and expiry take effect: at once here, within a second on another instance', async () => {
  const created = await curlPost(t.app, '/key/generate', { key_alias: 'doomed' });
  const secret = String(created.body.key);
  assert.equal(await authError(t.app, secret), null);
  assert.equal(await authError(other, secret), null, 'the other instance has it cached now');

  assert.equal((await curlPost(t.app, '/key/block', { key: secret })).body.blocked, true);
  assert.equal(await authError(t.app, secret), 'this key is blocked');
  assert.equal((await curlPost(t.app, '/key/unblock', { key: secret })).body.blocked, false);
  assert.equal(await authError(t.app, secret), null);

  const deleted = await curlPost(t.app, '/key/delete', { key_aliases: ['doomed'] });
  assert.deepEqual(deleted.body.deleted_keys, [created.body.token]);
  assert.equal(await authError(t.app, secret), 'invalid API key', 'immediate on the instance that handled it');
  // The other instance may pass through what it polled in between (blocked, unblocked) before the deletion:
  // wait for the end state, not merely for a change.
  let elapsed = 0;
  while ((await authError(other, secret)) !== 'invalid API key' && elapsed < 5000) {
    await new Promise((r) => setTimeout(r, 50));
    elapsed += 50;
  }
  assert.equal(
    await authError(other, secret),
    'invalid API key',
    'the other instance follows (its 250 ms epoch poll; generous wait for a loaded CI box)',
  );

  const expiring = await curlPost(t.app, '/key/generate', { duration: '2h' });
  assert.equal(await authError(t.app, String(expiring.body.key)), null);
  clock = new Date(clock.getTime() + 2 * 3600_000);
  assert.match((await authError(t.app, String(expiring.body.key))) ?? '', /expired/);
});

test('info and list endpoints answer in LiteLLM shapes with spend from ClickHouse', async () => {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'reporting', max_budget: 100, budget_duration: '1mo' });
  const teamId = String(team.body.team_id);
  assert.equal(team.body.budget_reset_at, '2026-12-01T00:00:00.000Z');
  const user = await curlPost(t.app, '/user/new', { user_email: 'dave@acme.com', team_id: teamId });
  assert.match(String(user.body.key), /^sk-/, '/user/new creates a key by default, as LiteLLM does');
  const key = await curlPost(t.app, '/key/generate', {
    user_id: user.body.user_id,
    team_id: teamId,
    key_alias: 'reports',
  });
  await insertSpend(t.app, [
    {
      request_id: randomUUID(),
      start: clock,
      cost_nano: 1_250_000_000,
      team_id: teamId,
      user_id: String(user.body.user_id),
      key_hash: String(key.body.token),
    },
    { request_id: randomUUID(), start: new Date('2026-10-31T23:00:00Z'), cost_nano: 7e9, team_id: teamId },
  ]);

  const keyInfo = await adminGet(t.app, `/key/info?key=${key.body.key}`);
  assert.equal(keyInfo.body.key, key.body.token);
  const info = keyInfo.body.info as Record<string, unknown>;
  assert.equal(info.key_alias, 'reports');
  assert.equal(info.spend, 1.25);
  assert.equal(info.key_name, `sk-...${String(key.body.key).slice(-4)}`);
  assert.equal('key' in info, false, 'the secret is never shown again');

  const own = await t.app.inject({
    method: 'GET',
    url: '/key/info',
    headers: { authorization: `Bearer ${key.body.key}` },
  });
  assert.equal(own.statusCode, 200, 'a key reads its own info without the master key');
  assert.equal((own.json() as { key: string }).key, key.body.token);
  const foreign = await t.app.inject({
    method: 'GET',
    url: `/key/info?key=${user.body.token}`,
    headers: { authorization: `Bearer ${key.body.key}` },
  });
  assert.equal(foreign.statusCode, 403);
  const listing = await t.app.inject({
    method: 'GET',
    url: '/key/list',
    headers: { authorization: `Bearer ${key.body.key}` },
  });
  assert.equal(listing.statusCode, 403);

  const teamInfo = await adminGet(t.app, `/team/info?team_id=${teamId}`);
  const teamBody = teamInfo.body.team_info as Record<string, unknown>;
  assert.equal(teamBody.spend, 1.25, 'only this month: October spend is outside the period');
  assert.equal((teamInfo.body.keys as unknown[]).length, 2);
  assert.deepEqual(
    (teamInfo.body.team_memberships as { user_id: string }[]).map((m) => m.user_id),
    [user.body.user_id],
  );

  const userInfo = await adminGet(t.app, `/user/info?user_id=${user.body.user_id}`);
  assert.equal((userInfo.body.user_info as { spend: number }).spend, 1.25);

  const page = await adminGet(t.app, `/key/list?team_id=${teamId}&page=1&size=1`);
  assert.equal(page.body.total_count, 2);
  assert.equal(page.body.total_pages, 2);
  assert.equal((page.body.keys as string[]).length, 1);

  await curlPost(t.app, '/budget/new', { budget_id: 'gold', max_budget: 20, rpm_limit: 100 });
  const tiered = await curlPost(t.app, '/customer/new', { user_id: 'acme-retail', budget_id: 'gold' });
  assert.equal(tiered.body.budget_id, 'gold', JSON.stringify(tiered.body));
  const customer = await adminGet(t.app, '/customer/info?end_user_id=acme-retail');
  assert.equal(customer.body.user_id, 'acme-retail');
  const tiers = await adminGet(t.app, '/budget/list');
  assert.equal((tiers.body as unknown as { max_budget: number }[])[0]?.max_budget, 20);
});

test('deleting a team or a user revokes their keys and memberships', async () => {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'short-lived' });
  const teamId = String(team.body.team_id);
  const user = await curlPost(t.app, '/user/new', { user_email: 'erin@acme.com', auto_create_key: false });
  const userId = String(user.body.user_id);
  const added = await curlPost(t.app, '/team/member_add', {
    team_id: teamId,
    member: { user_email: 'erin@acme.com' },
    max_budget_in_team: 5,
  });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  const teamKey = await curlPost(t.app, '/key/generate', { team_id: teamId });
  const userKey = await curlPost(t.app, '/key/generate', { user_id: userId });
  assert.equal(await authError(t.app, String(teamKey.body.key)), null);

  const membership = await adminGet(t.app, `/team/info?team_id=${teamId}`);
  assert.deepEqual(membership.body.team_memberships, [
    { team_id: teamId, user_id: userId, role: 'user', max_budget_in_team: 5, litellm_budget_table: { max_budget: 5 } },
  ]);
  assert.equal((await curlPost(t.app, '/team/member_delete', { team_id: teamId, user_id: userId })).status, 200);
  assert.deepEqual((await adminGet(t.app, `/team/info?team_id=${teamId}`)).body.team_memberships, []);

  assert.equal((await curlPost(t.app, '/team/delete', { team_ids: [teamId] })).status, 200);
  assert.equal(await authError(t.app, String(teamKey.body.key)), 'invalid API key');
  assert.equal((await adminGet(t.app, `/team/info?team_id=${teamId}`)).status, 404);
  assert.equal((await curlPost(t.app, '/user/delete', { user_ids: [userId] })).status, 200);
  assert.equal(await authError(t.app, String(userKey.body.key)), 'invalid API key');
  assert.equal((await curlPost(t.app, '/user/delete', { user_ids: [userId] })).status, 404);
});
