// The budget watch against real ClickHouse and Redis: a team's spend and forecast from its calls (the
// history through a daily rollup), the threshold and forecast alerts it sends to a local webhook (once
// each), and the forecast on /team/info and /key/info.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createBudgetWatch } from '../src/budgetWatch/budgetWatch.js';
import { periodFor } from '../src/periods.js';
import { pollUntil } from '../src/retry.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';
import { insertCalls } from './query.fixtures.js';

const DAY = 86_400_000;
const USD = 1_000_000_000;
// Ten-year blocks (N-day periods count from 1970-01-01): the period's end is years away on any test day.
const DURATION = '3650d';

describe('budget watch: thresholds and forecasts', () => {
  let t: TestApp;
  const received: Record<string, unknown>[] = [];
  const receiver = webhookReceiver(received);
  const todayStart = Math.floor(Date.now() / DAY) * DAY;
  const admin = async (url: string, payload: Record<string, unknown>) => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    t = await startTestApp(
      testConfig({ alerts: { webhook_url: `http://127.0.0.1:${port}/hook`, budget_check_seconds: 5 } }),
    );
    // 28 days of 1 USD a day (each a complete UTC day before today): spend 28 of a 33 USD budget, 84.8%.
    await insertCalls(
      t.app.warehouse,
      Array.from({ length: 28 }, (_, i) => ({
        request_id: `watch-${i}`,
        start_ms: todayStart - (i + 1) * DAY + 3_600_000,
        team: 'watched',
        cost_nano: USD,
      })),
    );
    await admin('/team/new', { team_id: 'watched', max_budget: 33, budget_duration: DURATION });
    await admin('/team/new', { team_id: 'idle', max_budget: 5, budget_duration: DURATION });
  });
  after(async () => {
    await t?.close();
    receiver.close();
  });

  it('reads spend and a forecast for every budgeted scope', async () => {
    const period = periodFor(DURATION, new Date(), 'UTC');
    assert.ok((period.end?.getTime() ?? 0) - Date.now() > 7 * DAY, 'the period must not end within the week');
    const statuses = await t.app.budgetWatch.statuses({ forecast: true });
    const watched = statuses.find((s) => s.scope.id === 'team:watched');
    assert.equal(watched?.spentNano, 28 * USD);
    assert.equal(watched?.maxNano, 33 * USD);
    assert.equal(watched?.forecast?.method, 'weekday_seasonal');
    assert.equal(watched?.forecast?.daily_rate_nano, USD);
    // 5 USD to go at 1 USD a day from now: five days from now.
    const runsOut = Date.parse(watched?.forecast?.runs_out_at ?? '');
    assert.ok(Math.abs(runsOut - (Date.now() + 5 * DAY)) < 60_000, watched?.forecast?.runs_out_at ?? 'null');
    const idle = statuses.find((s) => s.scope.id === 'team:idle');
    assert.equal(idle?.spentNano, 0);
    assert.equal(idle?.forecast?.runs_out_at, null);
  });

  it('more scopes than one question may name are asked in several (the same answer)', async () => {
    for (let i = 0; i < 3; i++)
      await admin('/team/new', { team_id: `extra-${i}`, max_budget: 1, budget_duration: DURATION });
    const one = await t.app.budgetWatch.statuses({ forecast: true });
    const chunked = await createBudgetWatch(t.app.controlPlane, t.app.budgetLedger, t.app.warehouse, {
      idsPerQuery: 2,
    }).statuses({ forecast: true });
    assert.ok(one.length >= 5);
    // What the histories decide (the projections move with the clock between the two asks).
    const seen = (list: typeof one) =>
      list.map((s) => [
        s.scope.id,
        s.spentNano,
        s.forecast?.method,
        s.forecast?.daily_rate_nano,
        s.forecast?.exceeds_budget,
      ]);
    assert.deepEqual(seen(chunked), seen(one));
    assert.equal(chunked.find((s) => s.scope.id === 'team:watched')?.forecast?.daily_rate_nano, USD);
  });

  it('GET /spend/forecast lists every budget with its forecast (admins only)', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/spend/forecast?scope_type=team',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    const watched = res.json().budgets.find((b: { scope: string }) => b.scope === 'team:watched');
    assert.equal(watched.spend_usd, '28.000000000');
    assert.equal(watched.max_budget_usd, '33.000000000');
    assert.equal(watched.forecast.daily_rate_usd, '1.000000000');
    assert.equal(watched.forecast.exceeds_budget, true);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/spend/forecast?scope_type=nobody',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /scope_type/);
    const key = (await admin('/key/generate', { key_alias: 'plain' })).key;
    const denied = await t.app.inject({
      method: 'GET',
      url: '/spend/forecast',
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(denied.statusCode, 403);
  });

  it('/team/info and /key/info carry the forecast', async () => {
    const get = async (url: string) => {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const team = (await get('/team/info?team_id=watched')).team_info.forecast;
    assert.equal(team.daily_spend, 1);
    assert.equal(team.exceeds_budget, true);
    assert.ok(Math.abs(Date.parse(team.runs_out_at) - (Date.now() + 5 * DAY)) < 60_000, team.runs_out_at);
    const key = (await admin('/key/generate', { key_alias: 'forecast-key', max_budget: 1, budget_duration: '1mo' }))
      .key;
    const info = (await get(`/key/info?key=${key}`)).info.forecast;
    assert.deepEqual(
      { ...info, projected_period_spend: undefined },
      {
        method: 'today_rate',
        daily_spend: 0,
        projected_period_spend: undefined,
        runs_out_at: null,
        exceeds_budget: false,
      },
    );
    assert.equal(info.projected_period_spend, 0);
  });

  it('sends the highest crossed threshold and the forecast alert, each once', async () => {
    await pollUntil(async () => received.length >= 2, {
      everyMs: 50,
      timeoutMs: 15_000,
      timeoutError: () => new Error(`alerts received: ${JSON.stringify(received)}`),
    });
    await t.app.alerts.drain();
    const threshold = received.filter((a) => a.event === 'budget_threshold_crossed');
    const forecast = received.filter((a) => a.event === 'budget_forecast_exceeded');
    assert.equal(threshold.length, 1);
    assert.equal(threshold[0]?.threshold_percent, 80);
    assert.equal(threshold[0]?.scope, 'team:watched');
    assert.match(String(threshold[0]?.text), /Budget 80% reached: watched spent \$28\.00 of \$33\.00/);
    assert.equal(forecast.length, 1);
    assert.equal(forecast[0]?.scope, 'team:watched');
    assert.match(String(forecast[0]?.text), /projected to reach its \$33\.00 budget/);
  });
});
