// Budget forecasts (src/forecast/budgetForecast.ts), worked by hand: flat and weekday-seasonal projections,
// run-out instants inside a day, budgets already out, periods shorter than a day, no history, lifetime
// budgets and a month with a DST change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { periodFor } from '../src/periods.js';
import { type DailySpend, forecastBudget, localDay } from '../src/query/forecast/budgetForecast.js';

const DAY = 86_400_000;
const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
/** `n` complete UTC days before `beforeMs`, each costing cost(dayStart). */
const history = (beforeMs: number, n: number, cost: (dayStart: number) => number): DailySpend[] =>
  Array.from({ length: n }, (_, i) => beforeMs - (n - i) * DAY).map((dayStartMs) => ({
    dayStartMs,
    costNano: cost(dayStartMs),
  }));
const month = (at: number, tz = 'UTC') => periodFor('1mo', new Date(at), tz);

describe('budget forecast', () => {
  it('flat mean: 100 a day → month end and the run-out instant', () => {
    const now = utc(2026, 12, 11);
    const f = forecastBudget({
      spentNano: 1000,
      maxNano: 2000,
      period: month(now),
      nowMs: now,
      timeZone: 'UTC',
      history: history(now, 10, () => 100),
      todayNano: 0,
    });
    assert.equal(f.method, 'flat_mean');
    assert.equal(f.daily_rate_nano, 100);
    assert.equal(f.period_end_spend_nano, 1000 + 21 * 100); // Dec 11–31
    assert.equal(f.runs_out_at, new Date(utc(2026, 12, 21)).toISOString()); // +10 days
    assert.equal(f.exceeds_budget, true);
  });

  it('weekday seasonal: weekdays only → no spend projected on weekends', () => {
    const now = utc(2026, 12, 7); // a Monday
    const weekdaysOnly = (dayStart: number) => ([0, 6].includes(new Date(dayStart).getUTCDay()) ? 0 : 140);
    const f = forecastBudget({
      spentNano: 560, // Dec 1–4 (Tue–Fri) at 140, the weekend at 0
      maxNano: 1000,
      period: month(now),
      nowMs: now,
      timeZone: 'UTC',
      history: history(now, 28, weekdaysOnly),
      todayNano: 0,
    });
    assert.equal(f.method, 'weekday_seasonal');
    assert.equal(f.daily_rate_nano, 100); // the last 7 days' mean
    // Dec 7–31 holds 19 weekdays at 140 (a flat mean would say 25 × 100 = 2,500).
    assert.equal(f.period_end_spend_nano, 560 + 19 * 140);
    // 440 to go: Mon, Tue, Wed bring 420, then 20 of Thursday's 140 — 1/7 of the day.
    const expected = utc(2026, 12, 10) + (20 / 140) * DAY;
    assert.ok(Math.abs(Date.parse(f.runs_out_at ?? '') - expected) <= 1, f.runs_out_at ?? 'null');
  });

  it('a budget already spent runs out now; one that will not has no run-out', () => {
    const now = utc(2026, 12, 11, 12);
    const base = { period: month(now), nowMs: now, timeZone: 'UTC', history: history(utc(2026, 12, 11), 5, () => 10) };
    const over = forecastBudget({ ...base, spentNano: 500, maxNano: 500, todayNano: 0 });
    assert.equal(over.runs_out_at, new Date(now).toISOString());
    assert.equal(over.exceeds_budget, true);
    const fine = forecastBudget({ ...base, spentNano: 0, maxNano: 1_000_000, todayNano: 0 });
    assert.equal(fine.runs_out_at, null);
    assert.equal(fine.exceeds_budget, false);
    // Half of today (5) and Dec 12–31 (20 days × 10).
    assert.equal(fine.period_end_spend_nano, 5 + 200);
    const none = forecastBudget({ ...base, spentNano: 0, maxNano: null, todayNano: 0 });
    assert.equal(none.runs_out_at, null);
  });

  it('periods shorter than a day use the period’s own rate', () => {
    const start = utc(2026, 12, 7, 10);
    const now = start + 30 * 60_000;
    const f = forecastBudget({
      spentNano: 50,
      maxNano: 80,
      period: periodFor('1h', new Date(now), 'UTC'),
      nowMs: now,
      timeZone: 'UTC',
      history: [],
      todayNano: 50,
    });
    assert.equal(f.method, 'period_rate');
    assert.equal(f.period_end_spend_nano, 100);
    assert.equal(f.runs_out_at, new Date(start + 48 * 60_000).toISOString());
  });

  it('no history: today’s spend over the elapsed part of today', () => {
    const now = utc(2026, 12, 30, 12);
    const f = forecastBudget({
      spentNano: 100,
      maxNano: null,
      period: month(now),
      nowMs: now,
      timeZone: 'UTC',
      history: [],
      todayNano: 100,
    });
    assert.equal(f.method, 'today_rate');
    assert.equal(f.daily_rate_nano, 200);
    assert.equal(f.period_end_spend_nano, 100 + 100 + 200); // rest of the 30th, the 31st
  });

  it('a lifetime budget has no period end but a run-out date', () => {
    const now = utc(2026, 12, 7);
    const f = forecastBudget({
      spentNano: 1000,
      maxNano: 1500,
      period: periodFor(null, new Date(now), 'UTC'),
      nowMs: now,
      timeZone: 'UTC',
      history: history(now, 10, () => 100),
      todayNano: 0,
    });
    assert.equal(f.period_end_spend_nano, null);
    assert.equal(f.runs_out_at, new Date(utc(2026, 12, 12)).toISOString());
  });

  it('local days across a DST change (Europe/Berlin, October) count once each', () => {
    const tz = 'Europe/Berlin';
    const now = localDay(utc(2026, 10, 20, 12), tz).start.getTime(); // Oct 20 00:00 local
    const days: DailySpend[] = [];
    let cursor = now;
    for (let i = 0; i < 10; i++) {
      cursor = localDay(cursor - 1, tz).start.getTime();
      days.unshift({ dayStartMs: cursor, costNano: 100 });
    }
    const f = forecastBudget({
      spentNano: 0,
      maxNano: null,
      period: month(now, tz),
      nowMs: now,
      timeZone: tz,
      history: days,
      todayNano: 0,
    });
    // Oct 20–31 in Berlin: 12 local days (Oct 25 has 25 hours), 100 each.
    assert.equal(f.period_end_spend_nano, 1200);
  });
});
