// Spend anomalies against real rollups: records arrive through the ingest API over a month; a team whose day
// (and its key, model and tag) spends four times its usual is listed by /spend/anomalies and alerted once,
// a calm team, a days-old team and a cent-sized spike are not; an hour is judged against the same hour of
// the days before. The statistics (median/MAD) are checked on their own first.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { judge, median } from '../src/anomalies/detect.js';
import { ANOMALY_DIMENSIONS } from '../src/anomalies/series.js';
import { type Anomaly, alertAnomalies, resolveAnomalySettings } from '../src/anomalies/service.js';
import { hashKey } from '../src/auth/principal.js';
import { ident, sql } from '../src/clickhouse/sql.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { spendRecord, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const USD = 1_000_000_000;
const ROLLUPS = ['spend_daily', 'spend_key_daily', 'spend_hourly', 'spend_hourly_team', 'spend_scope_daily'] as const;
const sumRow = z.object({ s: z.coerce.number() });

describe('the robust baseline', () => {
  const t = { zThreshold: 3.5, minExcessNano: USD, minPoints: 7 };
  test('median / MAD: one earlier spike does not raise the bar for the next', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 3);
    const baseline = [10, 11, 10, 12, 10, 11, 100, 10].map((v) => v * USD);
    const verdict = judge(40 * USD, baseline, t);
    assert.ok(verdict?.anomalous);
    assert.equal(verdict.expectedNano, 10.5 * USD);
    assert.equal(judge(12 * USD, baseline, t)?.anomalous, false);
  });
  test('a flat baseline, a short one and a small excess', () => {
    const flat = Array.from({ length: 10 }, () => 10 * USD);
    assert.equal(judge(13 * USD, flat, t)?.anomalous, true);
    assert.equal(judge(10.2 * USD, flat, t)?.anomalous, false);
    assert.equal(judge(100 * USD, flat.slice(0, 6), t), null);
    // Spending one day in four: too sporadic to have a usual (its median is 0).
    const sporadic = Array.from({ length: 28 }, (_, k) => (k % 4 === 0 ? 11 * USD : 0));
    assert.equal(judge(11 * USD, sporadic, t), null);
    assert.equal(
      judge(
        0.5 * USD,
        Array.from({ length: 10 }, () => 0.1 * USD),
        t,
      )?.anomalous,
      false,
    );
    assert.equal(judge(0, flat, t)?.anomalous, false);
  });
});

describe('anomalies from the rollups', () => {
  const now = Date.now();
  const today = Math.floor(now / DAY) * DAY;
  const targetDay = today - DAY;
  const targetHour = Math.floor(now / HOUR) * HOUR - HOUR;
  // Three hours old: its spend landed late (a batch import, a worker down); the alert pass still judges it.
  const lateHour = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const received: Record<string, unknown>[] = [];
  const receiver = webhookReceiver(received);
  let t: TestApp;
  let n = 0;
  const record = (at: number, team: string, model: string, tag: string, usd: number): SpendRecord => ({
    ...spendRecord('anom', n++, {
      start_time: new Date(at).toISOString(),
      team_id: team,
      key_hash: hashKey(`key-${team}`),
      model,
      upstream_model: model,
      provider: 'openai',
      tags: [tag],
      cost_nano: Math.round(usd * USD),
      source: 'ingest',
    }),
    status: 200,
    error_type: null,
  });

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    t = await startTestApp(testConfig({ alerts: { webhook_url: hook }, anomalies: { alert: false } }));
    const records: SpendRecord[] = [];
    const noon = (day: number) => day + 12 * HOUR;
    for (let k = 1; k <= 28; k++) {
      const day = targetDay - k * DAY;
      records.push(record(noon(day), 'anom-a', 'anom-model', 'anom-tag', 10 + (k % 3) * 0.5));
      records.push(record(noon(day), 'anom-b', 'calm-model', 'calm', 5 + (k % 4) * 0.25));
      records.push(record(noon(day), 'anom-small', 'calm-model', 'calm', 0.1));
      if (k <= 3) records.push(record(noon(day), 'anom-new', 'new-model', 'new', 1));
    }
    records.push(record(noon(targetDay), 'anom-a', 'anom-model', 'anom-tag', 40));
    records.push(record(noon(targetDay), 'anom-b', 'calm-model', 'calm', 5.5));
    records.push(record(noon(targetDay), 'anom-small', 'calm-model', 'calm', 0.5));
    records.push(record(noon(targetDay), 'anom-new', 'new-model', 'new', 50));
    // The hour: the same hour of the 14 days before at $2, then $20.
    for (let k = 1; k <= 14; k++)
      records.push(record(targetHour - k * DAY + 30 * 60_000, 'anom-h', 'h-model', 'h-tag', 2 + (k % 3) * 0.1));
    records.push(record(targetHour + 30 * 60_000, 'anom-h', 'h-model', 'h-tag', 20));
    for (let k = 1; k <= 14; k++)
      records.push(record(lateHour - k * DAY + 10 * 60_000, 'anom-h-late', 'h-late-model', 'h-late-tag', 3));
    records.push(record(lateHour + 10 * 60_000, 'anom-h-late', 'h-late-model', 'h-late-tag', 30));
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify(records),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await waitForRows(t.app.warehouse, records.length, 'anom-')).n, records.length);
    // A part of spend_logs is visible before every materialized view has written its own: wait for the rollups.
    const total = records.reduce((sum, r) => sum + r.cost_nano, 0);
    for (const table of ROLLUPS) {
      const deadline = Date.now() + 30_000;
      // spend_scope_daily holds each call once per scope: its key rows sum to the total.
      const scope = table === 'spend_scope_daily' ? sql`WHERE scope = 'key'` : sql``;
      const sum = async () =>
        (await t.app.warehouse.rows(sql`SELECT sum(cost_nano) AS s FROM ${ident(table, ROLLUPS)} ${scope}`, sumRow))[0]
          ?.s;
      while ((await sum()) !== total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await sum(), total, table);
    }
  });
  after(async () => {
    await t?.close();
    receiver.close();
  });

  const anomalies = async (query: string) => {
    const res = await t.app.inject({
      url: `/spend/anomalies?${query}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    return {
      status: res.statusCode,
      body: res.json() as { anomalies: Anomaly[]; buckets: string[]; error?: { param: string } },
    };
  };
  const names = (list: Anomaly[]) => list.map((a) => `${a.dimension}:${a.value}`).sort();

  test('a day at four times its usual spend is anomalous per team, key, model and tag; the others are not', async () => {
    const day = new Date(targetDay).toISOString().slice(0, 10);
    const { status, body } = await anomalies(`granularity=day&from=${day}&to=${day}T23:00:00Z`);
    assert.equal(status, 200);
    assert.deepEqual(body.buckets, [new Date(targetDay).toISOString()]);
    const onDay = body.anomalies.filter((a) => a.bucket === new Date(targetDay).toISOString());
    assert.deepEqual(
      // The hour series' spikes make a day anomaly too when their hours fall on the target day (00–03 UTC).
      names(onDay).filter(
        (x) =>
          !x.includes('anom-h') &&
          !x.includes('h-') &&
          x !== `key:${hashKey('key-anom-h')}` &&
          x !== `key:${hashKey('key-anom-h-late')}`,
      ),
      [`key:${hashKey('key-anom-a')}`, 'model:anom-model', 'tag:anom-tag', 'team:anom-a'],
    );
    const team = onDay.find((a) => a.dimension === 'team' && a.value === 'anom-a');
    assert.deepEqual(team && [team.cost_usd, team.expected_usd, team.excess_usd, team.score, team.baseline_points], [
      '40.000000000',
      '10.500000000',
      '29.500000000',
      '39.79',
      28,
    ]);
    const teams = await anomalies(`granularity=day&dimension=team&from=${day}&to=${day}T23:00:00Z`);
    assert.ok(teams.body.anomalies.every((a) => a.dimension === 'team'));
  });

  test('an hour is judged against the same hour of the days before', async () => {
    const hour = new Date(targetHour).toISOString();
    const { status, body } = await anomalies(
      `granularity=hour&from=${hour}&to=${new Date(targetHour + HOUR).toISOString()}`,
    );
    assert.equal(status, 200);
    assert.deepEqual(body.buckets, [hour]);
    assert.deepEqual(names(body.anomalies), [
      `key:${hashKey('key-anom-h')}`,
      'model:h-model',
      'tag:h-tag',
      'team:anom-h',
    ]);
    assert.equal(body.anomalies.find((a) => a.dimension === 'team')?.baseline_points, 14);
  });

  test('the alert pass sends each anomaly of the last hours and days once, a late-landing hour too', async () => {
    const settings = resolveAnomalySettings(t.config.file);
    const first = await alertAnomalies(t.app.warehouse, t.app.alerts, settings, ANOMALY_DIMENSIONS, now);
    await t.app.alerts.drain();
    const subjects = received
      .filter((a) => a.event === 'spend_anomaly')
      .map((a) => `${a.granularity}:${a.dimension}:${a.value}`);
    for (const expected of [
      'day:team:anom-a',
      'day:model:anom-model',
      'day:tag:anom-tag',
      'hour:team:anom-h',
      'hour:tag:h-tag',
      'hour:team:anom-h-late',
      'hour:tag:h-late-tag',
    ]) {
      assert.ok(subjects.includes(expected), `${expected} in ${subjects.join(', ')}`);
    }
    assert.equal(first, subjects.length);
    assert.equal(await alertAnomalies(t.app.warehouse, t.app.alerts, settings, ANOMALY_DIMENSIONS, now), 0);
    await t.app.alerts.drain();
    // The second pass judged the late hour again (it is among the last six): it was not re-sent.
    const late = received.filter(
      (a) =>
        a.event === 'spend_anomaly' && a.granularity === 'hour' && a.dimension === 'team' && a.value === 'anom-h-late',
    );
    assert.deepEqual(
      late.map((a) => [a.bucket, a.cost_usd]),
      [[new Date(lateHour).toISOString(), '30.000000000']],
    );
  });

  test('admin only; bad parameters are a 400 naming the field', async () => {
    const key = await t.app.inject({
      method: 'POST',
      url: '/key/generate',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: {},
    });
    const secret = (key.json() as { key: string }).key;
    const forbidden = await t.app.inject({ url: '/spend/anomalies', headers: { authorization: `Bearer ${secret}` } });
    assert.equal(forbidden.statusCode, 403);
    for (const [query, param] of [
      ['granularity=week', 'granularity'],
      ['dimension=user', 'dimension'],
      ['dimension=team&dimension=key', 'dimension'],
      ['granularity=hour&from=-100h', 'from'],
      ['from=-90d', 'from'],
      ['from=tomorrow', 'from'],
      ['to=2020-01-01', 'to'],
      ['limit=5', 'limit'],
    ] as const) {
      const { status, body } = await anomalies(query);
      assert.equal(status, 400, query);
      assert.equal(body.error?.param, param, query);
    }
    const defaults = await anomalies('');
    assert.equal(defaults.status, 200);
    assert.equal(defaults.body.buckets.length, 7);
  });
});
