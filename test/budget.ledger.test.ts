// Budget ledger behaviour through the registered CallGuards with an injected clock: period reset, rebuild
// after Redis loss, reservation expiry, idempotent settlement, every scope kind, soft-budget alerts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { formatUsd, RESERVATION_TTL_MS } from '../src/budgets/guard.js';
import { ledgerKeys, rateWindow } from '../src/budgets/ledger.js';
import { LIFETIME, periodFor } from '../src/periods.js';
import { callContext, curlPost, flushRedis, insertSpend, principalFor, simulateCall } from './budgetCalls.js';
import { startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

const alerts: unknown[] = [];
const webhook = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    alerts.push(JSON.parse(body));
    res.end('ok');
  });
});

let t: TestApp;
before(async () => {
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const { port } = webhook.address() as AddressInfo;
  t = await startTestApp(testConfig({ budgets: { alert_webhook_url: `http://127.0.0.1:${port}/alerts` } }));
});
after(async () => {
  await t.close();
  webhook.close();
});

async function teamKey(body: Record<string, unknown>) {
  const team = await curlPost(t.app, '/team/new', body);
  assert.equal(team.status, 200, JSON.stringify(team.body));
  const key = await curlPost(t.app, '/key/generate', { team_id: team.body.team_id });
  return { teamId: String(team.body.team_id), secret: String(key.body.key), token: String(key.body.token) };
}

test('refusals name exact amounts: at least cents, every significant nano-USD digit', () => {
  assert.equal(formatUsd(2_000_000_000), '$2.00');
  assert.equal(formatUsd(100_000_000), '$0.10');
  assert.equal(formatUsd(992_000_000), '$0.992');
  assert.equal(formatUsd(4_213), '$0.000004213');
  assert.equal(formatUsd(1_000_000_000_001), '$1000.000000001');
  assert.equal(formatUsd(-5), '$0.00');
});

test('a daily budget resets at midnight: a new period key, no job', async () => {
  const { secret } = await teamKey({ team_alias: 'daily', max_budget: 2, budget_duration: '1d' });
  const principal = await principalFor(t.app, secret);
  const late = new Date('2026-11-27T23:59:58Z');
  assert.ok((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, now: late })).ok);
  assert.ok((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, now: late })).ok);
  const refused = await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, now: late });
  assert.equal(refused.ok, false);
  if (refused.ok) return;
  assert.equal(
    refused.error.message,
    'Budget exceeded for team daily: spent $2.00 of $2.00 (resets 2026-11-28T00:00:00Z)',
  );
  assert.equal(refused.error.headers['retry-after'], '2');
  assert.equal(refused.error.headers['x-should-retry'], 'false');
  const midnight = new Date('2026-11-28T00:00:00Z');
  assert.ok((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, now: midnight })).ok);
});

test('Redis flushed mid-period: counters rebuilt from ClickHouse before admitting, no bypass', async () => {
  const { teamId, secret, token } = await teamKey({ team_alias: 'flushed', max_budget: 10, budget_duration: '30d' });
  const principal = await principalFor(t.app, secret);
  const now = new Date();
  for (let i = 0; i < 6; i++) {
    const requestId = randomUUID();
    assert.ok((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, requestId, now })).ok);
    // What the ingest worker writes for the call.
    await insertSpend(t.app, [{ request_id: requestId, start: now, cost_nano: 1e9, team_id: teamId, key_hash: token }]);
  }
  assert.ok((await flushRedis(t.app, t.config.redis.keyPrefix)) > 0);
  const key = ledgerKeys.scope(`team:${teamId}`, periodFor('30d', now, 'UTC'));
  assert.equal((await t.app.budgetLedger.read(key)).loaded, false);
  let admitted = 0;
  while ((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9, now })).ok) admitted++;
  assert.equal(admitted, 4, 'only the $4 left after the $6 ClickHouse knows about');
  assert.deepEqual(await t.app.budgetLedger.read(key), { spent: 10e9, reserved: 0, loaded: true });
});

test('a reservation whose proxy never settles expires; settlement is idempotent', async () => {
  const { teamId, secret } = await teamKey({ team_alias: 'expiry', max_budget: 1 });
  const principal = await principalFor(t.app, secret);
  const guard = t.app.callGuards.admitters[0]!;
  const key = ledgerKeys.scope(`team:${teamId}`, LIFETIME);
  const start = new Date();
  const abandoned = await guard.admit(callContext(principal, { maxCostNano: 0.8e9, costNano: 0, now: start }));
  assert.ok(abandoned);
  assert.equal((await t.app.budgetLedger.read(key)).reserved, 0.8e9);
  const meanwhile = await simulateCall(t.app, principal, { maxCostNano: 0.3e9, costNano: 0.3e9, now: start });
  assert.equal(meanwhile.ok, false, 'the live reservation holds its share');
  const later = new Date(start.getTime() + RESERVATION_TTL_MS + 1000);
  const ctx = callContext(principal, { maxCostNano: 0.3e9, costNano: 0.3e9, now: later });
  const admission = await guard.admit(ctx);
  assert.equal((await t.app.budgetLedger.read(key)).reserved, 0.3e9, 'the abandoned reservation was swept');
  const outcome = { costNano: 0.25e9, promptTokens: 10, completionTokens: 5, totalTokens: 15, status: 200 };
  await admission.settle(outcome);
  await admission.settle(outcome);
  assert.deepEqual(await t.app.budgetLedger.read(key), { spent: 0.25e9, reserved: 0, loaded: true });
});

test('a counter lost on its own while a reservation is live: the rebuilt counter only releases its own', async () => {
  const { teamId, secret } = await teamKey({ team_alias: 'evicted', max_budget: 1 });
  const principal = await principalFor(t.app, secret);
  const guard = t.app.callGuards.admitters[0]!;
  const key = ledgerKeys.scope(`team:${teamId}`, LIFETIME);
  const settled = (costNano: number) => ({
    costNano,
    promptTokens: 1,
    completionTokens: 1,
    totalTokens: 2,
    status: 200,
  });
  const held = await guard.admit(callContext(principal, { maxCostNano: 0.5e9, costNano: 0 }));
  await t.app.redis.del(key);
  const next = await guard.admit(callContext(principal, { maxCostNano: 0.2e9, costNano: 0 }));
  assert.deepEqual(await t.app.budgetLedger.read(key), { spent: 0, reserved: 0.2e9, loaded: true });
  await held.settle(settled(0.4e9));
  assert.deepEqual(await t.app.budgetLedger.read(key), { spent: 0.4e9, reserved: 0.2e9, loaded: true });
  await next.settle(settled(0.1e9));
  assert.deepEqual(await t.app.budgetLedger.read(key), { spent: 0.5e9, reserved: 0, loaded: true });
});

test('every scope kind refuses by name: key, key-per-model, user, member, customer, tag', async () => {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'scopes' });
  const teamId = String(team.body.team_id);
  const user = await curlPost(t.app, '/user/new', {
    user_email: 'bob@acme.com',
    team_id: teamId,
    auto_create_key: false,
  });
  const userId = String(user.body.user_id);
  await curlPost(t.app, '/team/member_update', { team_id: teamId, user_id: userId, max_budget_in_team: 4 });
  await curlPost(t.app, '/customer/new', { user_id: 'cust-1', alias: 'Acme Retail', max_budget: 2 });
  await curlPost(t.app, '/tag/new', { name: 'project:x', max_budget: 1 });
  const key = await curlPost(t.app, '/key/generate', {
    key_alias: 'scoped',
    user_id: userId,
    team_id: teamId,
    max_budget: 6,
    model_max_budget: { 'gpt-4o': 5 },
  });
  assert.equal(key.status, 200, JSON.stringify(key.body));
  const principal = await principalFor(t.app, String(key.body.key));
  const refusal = async (call: Parameters<typeof simulateCall>[2]) => {
    for (let i = 0; i < 10; i++) {
      const r = await simulateCall(t.app, principal, call);
      if (!r.ok) return r.error.message.replace(/: spent.*/, '');
    }
    return 'never refused';
  };
  assert.equal(
    await refusal({ maxCostNano: 1e9, costNano: 1e9, tags: ['project:x'] }),
    'Budget exceeded for tag project:x',
  );
  assert.equal(
    await refusal({ maxCostNano: 1e9, costNano: 1e9, customerId: 'cust-1' }),
    'Budget exceeded for customer Acme Retail',
  );
  assert.equal(
    await refusal({ maxCostNano: 1e9, costNano: 1e9 }),
    'Budget exceeded for user bob@acme.com in team scopes',
  );
  await curlPost(t.app, '/team/member_update', { team_id: teamId, user_id: userId, max_budget_in_team: null });
  assert.equal(await refusal({ maxCostNano: 1e9, costNano: 1e9 }), 'Budget exceeded for key scoped for model gpt-4o');
  assert.equal(
    await refusal({ maxCostNano: 1e9, costNano: 1e9, model: 'gpt-4o-mini' }),
    'Budget exceeded for key scoped',
  );
  await curlPost(t.app, '/key/update', { key: key.body.key, max_budget: null });
  await curlPost(t.app, '/user/update', { user_id: userId, max_budget: 7 });
  assert.equal(
    await refusal({ maxCostNano: 1e9, costNano: 1e9, model: 'gpt-4o-mini' }),
    'Budget exceeded for user bob@acme.com',
  );
});

test('soft budget: one webhook alert and one counter increment per period', async () => {
  const { secret } = await teamKey({ team_alias: 'soft', max_budget: 10, soft_budget: 1 });
  const principal = await principalFor(t.app, secret);
  const before = (await t.app.budgetMetrics.softBudgetAlerts.get()).values.reduce((a, v) => a + v.value, 0);
  for (let i = 0; i < 4; i++)
    assert.ok((await simulateCall(t.app, principal, { maxCostNano: 0.6e9, costNano: 0.6e9 })).ok);
  // Earlier tests' hard-budget refusals alert on the same webhook (hard_budget_hit).
  const soft = () => alerts.filter((a) => (a as { event: string }).event === 'soft_budget_crossed');
  for (let i = 0; i < 40 && soft().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(soft().length, 1);
  assert.deepEqual(
    { ...(soft()[0] as Record<string, unknown>), period_start: null },
    {
      text: 'Soft budget crossed: team soft spent $1.20 of its $1.00 soft budget, max budget $10.00',
      event: 'soft_budget_crossed',
      scope: (soft()[0] as { scope: string }).scope,
      scope_type: 'team',
      label: 'team soft',
      spend: '1.200000000',
      soft_budget: '1.000000000',
      max_budget: '10.000000000',
      period_start: null,
      period_end: null,
    },
  );
  const afterCount = (await t.app.budgetMetrics.softBudgetAlerts.get()).values.reduce((a, v) => a + v.value, 0);
  assert.equal(afterCount - before, 1);
});

test('rate limits: rpm, tpm and max_parallel_requests refuse with 429 rate_limit_exceeded and headers', async () => {
  const rpm = await curlPost(t.app, '/key/generate', { rpm_limit: 2 });
  const p1 = await principalFor(t.app, String(rpm.body.key));
  const now = new Date('2026-11-27T12:00:10Z');
  const first = await simulateCall(t.app, p1, { maxCostNano: 0, costNano: 0, now });
  assert.ok(first.ok);
  if (!first.ok) return;
  assert.equal(first.headers['x-ratelimit-limit-requests'], '2');
  assert.equal(first.headers['x-ratelimit-remaining-requests'], '1');
  assert.equal(first.headers['x-ratelimit-reset-requests'], '50s');
  assert.ok((await simulateCall(t.app, p1, { maxCostNano: 0, costNano: 0, now })).ok);
  const third = await simulateCall(t.app, p1, { maxCostNano: 0, costNano: 0, now });
  assert.equal(third.ok, false);
  if (third.ok) return;
  assert.equal(third.error.status, 429);
  assert.equal(third.error.type, 'rate_limit_exceeded');
  assert.equal(third.error.headers['retry-after'], '50');
  assert.equal(third.error.headers['x-ratelimit-remaining-requests'], '0');
  assert.ok((await simulateCall(t.app, p1, { maxCostNano: 0, costNano: 0, now: new Date('2026-11-27T12:01:00Z') })).ok);

  const tpm = await curlPost(t.app, '/key/generate', { tpm_limit: 100 });
  const p2 = await principalFor(t.app, String(tpm.body.key));
  const tokens = { maxCostNano: 0, costNano: 0, now, promptTokens: 40, completionTokens: 20 };
  assert.ok((await simulateCall(t.app, p2, tokens)).ok);
  assert.ok((await simulateCall(t.app, p2, tokens)).ok);
  const overTokens = await simulateCall(t.app, p2, tokens);
  assert.equal(overTokens.ok, false);
  if (!overTokens.ok) assert.match(overTokens.error.message, /120 of 100 tokens per minute/);

  const par = await curlPost(t.app, '/key/generate', { max_parallel_requests: 1 });
  const p3 = await principalFor(t.app, String(par.body.key));
  const guard = t.app.callGuards.admitters[0]!;
  const held = await guard.admit(callContext(p3, { maxCostNano: 0, costNano: 0 }));
  const second = await simulateCall(t.app, p3, { maxCostNano: 0, costNano: 0 });
  assert.equal(second.ok, false);
  if (!second.ok) assert.match(second.error.message, /1 of 1 parallel requests/);
  await held.settle({ costNano: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, status: 200 });
  assert.ok((await simulateCall(t.app, p3, { maxCostNano: 0, costNano: 0 })).ok);
});

test('tpm: the admission counts the prompt bound, the settlement corrects it to the real prompt (never below 0)', async () => {
  const created = await curlPost(t.app, '/key/generate', { tpm_limit: 1000 });
  const principal = await principalFor(t.app, String(created.body.key));
  const guard = t.app.callGuards.admitters[0]!;
  const now = new Date();
  const window = ledgerKeys.tpm(`key:${created.body.token_id}`, rateWindow(now.getTime()).start);
  const used = async () => Number((await t.app.redis.get(window)) ?? 0);
  const answered = await guard.admit(callContext(principal, { maxCostNano: 0, costNano: 0, promptTokens: 400, now }));
  assert.equal(await used(), 400, 'the bound (UTF-8 bytes) counts while the call is in flight');
  await answered.settle({ costNano: 0, promptTokens: 100, completionTokens: 20, totalTokens: 120, status: 200 });
  assert.equal(await used(), 120, 'the provider counted 100 prompt + 20 completion tokens');
  const refused = await guard.admit(callContext(principal, { maxCostNano: 0, costNano: 0, promptTokens: 300, now }));
  await refused.settle({ costNano: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, status: 502 });
  assert.equal(await used(), 120, 'a call that never reached the provider gives its bound back');
  await t.app.redis.set(window, 50);
  const evicted = await guard.admit(callContext(principal, { maxCostNano: 0, costNano: 0, promptTokens: 300, now }));
  await t.app.redis.set(window, 10);
  await evicted.settle({ costNano: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, status: 499 });
  assert.equal(await used(), 0, 'a window reset meanwhile stays at 0, not negative');
});
