// The management API: validation (400 naming the field), conflicts (409), nothing half-written, key
// rotation with a grace period, revocation across instances, expiry, and LiteLLM's response shapes with
// spend read from ClickHouse.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { AppError } from '../src/errors.js';
import { curlPost, insertSpend, principalFor, simulateCall } from './budgetCalls.js';
import { adminGet, startTestApp, type TestApp } from './helpers/testApp.js';

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

test('revoke, block and expiry take effect: at once here, at once (pub/sub) on another instance', async () => {
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
  // The other instance may pass through the states published in between (blocked, unblocked) before the
  // deletion: wait for the end state, not merely for a change. Its safety-net poll runs every 5 s, so
  // reaching the end state well within 2 s shows the published epoch arrived.
  let elapsed = 0;
  while ((await authError(other, secret)) !== 'invalid API key' && elapsed < 2000) {
    await new Promise((r) => setTimeout(r, 50));
    elapsed += 50;
  }
  assert.equal(
    await authError(other, secret),
    'invalid API key',
    'the other instance follows (the published epoch; its poll is only every 5 s)',
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

test('errors say what is wrong: wrong types, impossible ranges, control characters — each a 400 naming the field', async () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    // zod 4 dropped the value from its issues, so every wrong type used to read "<field>: required".
    ['/key/generate', { rpm_limit: 1.5 }, 'rpm_limit', 'rpm_limit: expected an integer, got 1.5'],
    ['/key/generate', { max_budget: '5' }, 'max_budget', 'max_budget: expected a number, got string'],
    ['/key/generate', { tags: 'prod' }, 'tags', 'tags: expected an array, got string'],
    ['/key/generate', { blocked: 'yes' }, 'blocked', 'blocked: expected true or false, got string'],
    [
      '/key/generate',
      { permissions: 'ingest' },
      'permissions',
      'permissions: expected an array or an object, got string',
    ],
    [
      '/key/generate',
      { model_max_budget: { m: { budget_limit: 'x' } } },
      'model_max_budget.m.budget_limit',
      'model_max_budget.m.budget_limit: expected a number, got string',
    ],
    [
      '/key/generate',
      { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) },
      'tags',
      'tags: at most 64 items, got 65',
    ],
    [
      '/key/generate',
      { models: Array.from({ length: 1001 }, (_, i) => `m${i}`) },
      'models',
      'models: at most 1000 items, got 1001',
    ],
    [
      '/key/generate',
      { tpm_limit: 2 ** 60 },
      'tpm_limit',
      'tpm_limit: at most 9007199254740991, got 1152921504606847000',
    ],
    ['/key/generate', { max_budget: 1e308 }, 'max_budget', 'max_budget: at most 9,000,000 USD'],
    [
      '/key/generate',
      { budget_duration: '999999mo' },
      'budget_duration',
      'budget_duration: at most 100 years (e.g. 1200mo, 36500d)',
    ],
    ['/key/generate', { duration: '999999d' }, 'duration', 'duration: at most 100 years (e.g. 1200mo, 36500d)'],
    [
      '/key/generate',
      { metadata: { blob: 'x'.repeat(17_000) } },
      'metadata',
      'metadata: at most 16384 bytes as JSON, got 17011',
    ],
    ['/team/new', { members_with_roles: 5 }, 'members_with_roles', 'members_with_roles: expected an array, got 5'],
    ['/team/new', { team_alias: 'x', frob: 1, nicate: 2 }, 'frob', 'frob: unknown field (also unknown: "nicate")'],
    // Control characters (C0/C1, ESC, DEL), bidi overrides and lone surrogates in names.
    [
      '/key/generate',
      { key_alias: 'ops\u0000' },
      'key_alias',
      'key_alias: must not contain control characters (found U+0000)',
    ],
    [
      '/key/generate',
      { user_id: 'a\u001b[31mb' },
      'user_id',
      'user_id: must not contain control characters (found U+001B)',
    ],
    [
      '/key/generate',
      { tags: ['ok', 'x\u007f'] },
      'tags[1]',
      'tags[1]: must not contain control characters (found U+007F)',
    ],
    [
      '/key/generate',
      { models: ['gpt\u0085'] },
      'models[0]',
      'models[0]: must not contain control characters (found U+0085)',
    ],
    [
      '/key/generate',
      { metadata: { 'k\u001b[2J': 1 } },
      'metadata.k\ufffd[2J',
      'metadata.k\ufffd[2J: must not contain control characters (found U+001B)',
    ],
    [
      '/key/generate',
      { model_max_budget: { 'gpt\u202e': 1 } },
      'model_max_budget.gpt\ufffd',
      'model_max_budget.gpt\ufffd: must not contain bidi control characters (found U+202E)',
    ],
    [
      '/team/new',
      { team_id: 'team\u2066x' },
      'team_id',
      'team_id: must not contain bidi control characters (found U+2066)',
    ],
    [
      '/team/new',
      { team_alias: '\ud800' },
      'team_alias',
      'team_alias: must be valid Unicode (found a lone surrogate U+D800)',
    ],
    ['/user/new', { user_id: 'u\u0007' }, 'user_id', 'user_id: must not contain control characters (found U+0007)'],
    [
      '/user/new',
      { user_email: 'a\u0000@b.c' },
      'user_email',
      'user_email: must not contain control characters (found U+0000)',
    ],
    [
      '/customer/new',
      { user_id: 'cust\u009b' },
      'user_id',
      'user_id: must not contain control characters (found U+009B)',
    ],
    [
      '/customer/new',
      { user_id: 'c', alias: 'x\u202d' },
      'alias',
      'alias: must not contain bidi control characters (found U+202D)',
    ],
    ['/tag/new', { name: 'prod\n' }, 'name', 'name: must not contain control characters (found U+000A)'],
    [
      '/budget/new',
      { budget_id: 'tier\t' },
      'budget_id',
      'budget_id: must not contain control characters (found U+0009)',
    ],
  ];
  for (const [url, body, param, message] of cases) {
    const r = await curlPost(t.app, url, body);
    assert.equal(r.status, 400, `${url} ${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(r.body)}`);
    const error = r.body.error as { param: string; message: string };
    assert.equal(error.param, param, JSON.stringify(r.body));
    assert.equal(error.message, message);
  }
  // Missing values still say so; zero-width joiners (emoji, several scripts) are allowed in names.
  const missing = await curlPost(t.app, '/key/update', {});
  assert.equal((missing.body.error as { message: string }).message, 'key: required');
  const joined = await curlPost(t.app, '/team/new', { team_alias: 'family 👨\u200d👩\u200d👧' });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  // Lookups take any id, so an entry written before the rule can still be found (404 here, not 400).
  const lookup = await adminGet(t.app, `/team/info?team_id=${encodeURIComponent('legacy\u0000id')}`);
  assert.equal(lookup.status, 404, JSON.stringify(lookup.body));
  assert.equal((lookup.body.error as { message: string }).message, 'team_id: team "legacy\ufffdid" not found');
  // …but nothing stored holds a lone surrogate (ClickHouse refuses one): a lookup with one names its field
  // (it used to come back from the SQL builder as a 400 naming nothing).
  for (const [url, body, param] of [
    ['/team/update', { team_id: '\ud800', team_alias: 'x' }, 'team_id'],
    ['/key/delete', { key_aliases: ['ok', 'a\udfff'] }, 'key_aliases[1]'],
    ['/user/delete', { user_ids: ['\ud800'] }, 'user_ids[0]'],
    ['/customer/update', { user_id: '\ud800' }, 'user_id'],
    ['/tag/info', { names: ['\ud800'] }, 'name'],
  ] as const) {
    const r = await curlPost(t.app, url, body);
    assert.equal(r.status, 400, `${url} → ${JSON.stringify(r.body)}`);
    assert.equal((r.body.error as { param: string }).param, param, JSON.stringify(r.body));
  }
});
