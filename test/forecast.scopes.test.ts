// The budget watch beyond teams and keys, against real ClickHouse and Redis: budgets that come from a budget
// tier (budget_id) get the tier's forecast on /team/info and /key/info, as the watch sees them; user,
// customer and tag budgets get a forecast (the watch, /spend/forecast) and threshold and forecast alerts;
// budgets past the watch's bound are reported, not dropped silently.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createBudgetWatch } from '../src/budgetWatch/budgetWatch.js';
import { pollUntil } from '../src/retry.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';
import { type CallRow, insertCalls } from './query.fixtures.js';

const DAY = 86_400_000;
const USD = 1_000_000_000;
// Ten-year blocks (N-day periods count from 1970-01-01): the period's end is years away on any test day.
const DURATION = '3650d';

describe('budget watch: tiers and every budgeted scope kind', () => {
  let t: TestApp;
  let keySecret = '';
  let keyId = '';
  const received: Record<string, unknown>[] = [];
  const receiver = webhookReceiver(received);
  const todayStart = Math.floor(Date.now() / DAY) * DAY;
  const auth = { authorization: `Bearer ${TEST_MASTER_KEY}` };
  const admin = async (url: string, payload: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url, headers: auth, payload });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: auth });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  /** 28 complete UTC days before today of 1 USD a day each, for the calls `row` describes. */
  const history = (prefix: string, row: Omit<CallRow, 'request_id' | 'start_ms' | 'cost_nano'>): CallRow[] =>
    Array.from({ length: 28 }, (_, i) => ({
      ...row,
      request_id: `${prefix}-${i}`,
      start_ms: todayStart - (i + 1) * DAY + 3_600_000,
      cost_nano: USD,
    }));
  /** 5 USD to go at 1 USD a day from now: about five days from now. */
  const runsOutInFiveDays = (runsOutAt: string | null | undefined) =>
    assert.ok(Math.abs(Date.parse(runsOutAt ?? '') - (Date.now() + 5 * DAY)) < 60_000, String(runsOutAt));

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    t = await startTestApp(
      testConfig({ alerts: { webhook_url: `http://127.0.0.1:${port}/hook`, budget_check_seconds: 5 } }),
    );
    // The tier holds the budget: the team and the key below set none of their own.
    await admin('/budget/new', { budget_id: 'tier-33', max_budget: 33, budget_duration: DURATION });
    await admin('/team/new', { team_id: 'tiered', budget_id: 'tier-33' });
    const key = await admin('/key/generate', { key_alias: 'tiered-key', budget_id: 'tier-33' });
    keySecret = key.key;
    keyId = key.token_id;
    await admin('/user/new', { user_id: 'u-watched', max_budget: 33, budget_duration: DURATION });
    await admin('/customer/new', { user_id: 'c-watched', max_budget: 33, budget_duration: DURATION });
    await admin('/tag/new', { name: 'proj-watched', max_budget: 33, budget_duration: DURATION });
    await insertCalls(t.app.warehouse, [
      ...history('tiered-team', { team: 'tiered' }),
      ...history('tiered-key', { key: keySecret }),
      ...history('user', { user: 'u-watched' }),
      ...history('customer', { customer: 'c-watched' }),
      // A tag's spend counts every call carrying it, whatever else the call carries.
      ...history('tag', { tags: ['proj-watched', 'other-tag'] }),
    ]);
  });
  after(async () => {
    await t?.close();
    receiver.close();
  });

  it('/team/info and /key/info forecast a budget that comes from a tier', async () => {
    const team = (await get('/team/info?team_id=tiered')).team_info;
    assert.equal(team.max_budget, null, 'the team sets no budget of its own');
    assert.equal(team.forecast.method, 'weekday_seasonal');
    assert.equal(team.forecast.daily_spend, 1);
    assert.equal(team.forecast.exceeds_budget, true);
    runsOutInFiveDays(team.forecast.runs_out_at);
    const key = (await get(`/key/info?key=${keySecret}`)).info;
    assert.equal(key.max_budget, null);
    assert.equal(key.forecast.daily_spend, 1);
    assert.equal(key.forecast.exceeds_budget, true);
    runsOutInFiveDays(key.forecast.runs_out_at);
    // The same budget, period and run-out as the watch's.
    const statuses = await t.app.budgetWatch.statuses({ forecast: true });
    for (const id of ['team:tiered', `key:${keyId}`]) {
      const s = statuses.find((x) => x.scope.id === id);
      assert.equal(s?.maxNano, 33 * USD, id);
      assert.equal(s?.spentNano, 28 * USD, id);
      runsOutInFiveDays(s?.forecast?.runs_out_at);
    }
  });

  it('watches user, customer and tag budgets: spend and forecast, on /spend/forecast too', async () => {
    const statuses = await t.app.budgetWatch.statuses({ forecast: true });
    for (const [type, id] of [
      ['user', 'user:u-watched'],
      ['customer', 'customer:c-watched'],
      ['tag', 'tag:proj-watched'],
    ]) {
      const s = statuses.find((x) => x.scope.id === id);
      assert.equal(s?.scope.type, type, id);
      assert.equal(s?.spentNano, 28 * USD, id);
      assert.equal(s?.forecast?.method, 'weekday_seasonal', id);
      assert.equal(s?.forecast?.daily_rate_nano, USD, id);
      runsOutInFiveDays(s?.forecast?.runs_out_at);
    }
    assert.equal(
      statuses.find((x) => x.scope.id === 'tag:other-tag'),
      undefined,
      'a tag without a budget is not watched',
    );
    const body = await get('/spend/forecast?scope_type=tag');
    assert.deepEqual(
      body.budgets.map((b: { scope: string }) => b.scope),
      ['tag:proj-watched'],
    );
    assert.equal(body.budgets[0].spend_usd, '28.000000000');
    assert.equal(body.budgets[0].forecast.daily_rate_usd, '1.000000000');
    assert.equal(body.budgets[0].forecast.exceeds_budget, true);
    const bad = await t.app.inject({ method: 'GET', url: '/spend/forecast?scope_type=budget', headers: auth });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /scope_type/);
  });

  it('reports the budgets past its bound instead of dropping them silently', async () => {
    const skipped: [number, number][] = [];
    const all = await t.app.budgetWatch.statuses({ forecast: false });
    const bounded = await createBudgetWatch(t.app.controlPlane, t.app.budgetLedger, t.app.warehouse, {
      maxScopes: 2,
      onSkipped: (n, watched) => skipped.push([n, watched]),
    }).statuses({ forecast: false });
    assert.ok(all.length >= 5);
    assert.deepEqual(
      bounded.map((s) => s.scope.id),
      all.slice(0, 2).map((s) => s.scope.id),
    );
    assert.deepEqual(skipped, [[all.length - 2, 2]]);
  });

  it('sends threshold and forecast alerts for a user, a customer and a tag', async () => {
    const scopes = ['user:u-watched', 'customer:c-watched', 'tag:proj-watched'];
    const of = (event: string, scope: string) => received.filter((a) => a.event === event && a.scope === scope);
    await pollUntil(
      async () =>
        scopes.every(
          (s) => of('budget_threshold_crossed', s).length > 0 && of('budget_forecast_exceeded', s).length > 0,
        ),
      {
        everyMs: 50,
        timeoutMs: 30_000,
        timeoutError: () => new Error(`alerts received: ${JSON.stringify(received)}`),
      },
    );
    await t.app.alerts.drain();
    for (const scope of scopes) {
      const [threshold, ...more] = of('budget_threshold_crossed', scope);
      assert.equal(more.length, 0, scope);
      assert.equal(threshold?.threshold_percent, 80);
      assert.equal(threshold?.scope_type, scope.split(':')[0]);
      assert.match(String(threshold?.text), /spent \$28\.00 of \$33\.00/);
      assert.equal(of('budget_forecast_exceeded', scope).length, 1, scope);
    }
  });
});
