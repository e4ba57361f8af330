// The "Unusual spend" card asks GET /spend/anomalies only for windows the API accepts: for the dashboard's
// presets and custom ranges (DateRange: up to 3 days hourly, else daily, past 120 days weekly) the card's
// "pick a shorter range" decision and the API's 400 agree, both reading src/anomalies/window.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAnomalyRequest } from '../src/anomalies/routes.js';
import { ANOMALY_WINDOWS } from '../src/anomalies/window.js';
import { anomalyRangeLimit } from '../src/ui/app/spend/AnomaliesCard.js';
import type { Window } from '../src/ui/app/spend/spendApi.js';

const NOW = Date.UTC(2026, 11, 8, 12, 30);

const windows: [string, Window, 'fits' | 'too long'][] = [
  ['24 h preset', { from: '-24h', to: 'now', granularity: 'hour' }, 'fits'],
  ['7 days preset', { from: '-7d', to: 'now', granularity: 'day' }, 'fits'],
  ['30 days preset', { from: '-30d', to: 'now', granularity: 'day' }, 'fits'],
  ['this month', { from: '2026-12-01', to: 'now', granularity: 'day' }, 'fits'],
  ['custom 1 day, hourly', { from: '2026-12-07', to: '2026-12-08', granularity: 'hour' }, 'fits'],
  ['custom 2 days, hourly (48 h)', { from: '2026-12-06', to: '2026-12-08', granularity: 'hour' }, 'fits'],
  ['custom 3 days, hourly (72 h)', { from: '2026-12-05', to: '2026-12-08', granularity: 'hour' }, 'too long'],
  // Only complete hours count: today's 11 complete hours and yesterday's 24.
  ['custom 2 days to tomorrow, hourly', { from: '2026-12-07', to: '2026-12-09', granularity: 'hour' }, 'fits'],
  ['custom 3 days to tomorrow, hourly', { from: '2026-12-06', to: '2026-12-09', granularity: 'hour' }, 'too long'],
  ['custom 31 days', { from: '2026-11-07', to: '2026-12-08', granularity: 'day' }, 'fits'],
  ['custom 32 days', { from: '2026-11-06', to: '2026-12-08', granularity: 'day' }, 'too long'],
  ['custom 33 days to next week', { from: '2026-11-07', to: '2026-12-10', granularity: 'day' }, 'fits'],
  ['custom 120 days', { from: '2026-08-10', to: '2026-12-08', granularity: 'day' }, 'too long'],
];

test('the card refuses exactly the windows the API refuses', () => {
  for (const [name, window, expected] of windows) {
    const granularity = window.granularity === 'hour' ? 'hour' : 'day';
    let api: 'fits' | 'too long' = 'fits';
    try {
      parseAnomalyRequest({ granularity, from: window.from, to: window.to }, NOW);
    } catch (err) {
      assert.match((err as Error).message, /at most/, name);
      api = 'too long';
    }
    assert.equal(api, expected, `API: ${name}`);
    const limit = anomalyRangeLimit(window, NOW);
    assert.equal(limit === null ? 'fits' : 'too long', expected, `card: ${name}`);
    if (limit) assert.deepEqual(limit, { max: ANOMALY_WINDOWS[granularity].maxBuckets, unit: granularity });
  }
});

test('weekly and monthly charts are always too long; an unreadable window is left to the API', () => {
  assert.deepEqual(anomalyRangeLimit({ from: '-90d', to: 'now', granularity: 'week' }, NOW), { max: 31, unit: 'day' });
  assert.deepEqual(anomalyRangeLimit({ from: '-1d', to: 'now', granularity: 'month' }, NOW), { max: 31, unit: 'day' });
  assert.equal(anomalyRangeLimit({ from: 'yesterday', to: 'now', granularity: 'day' }, NOW), null);
  assert.equal(anomalyRangeLimit({ from: '2026-12-08', to: '2026-12-01', granularity: 'day' }, NOW), null);
});
