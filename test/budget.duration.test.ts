// Period alignment: calendar boundaries in the configured zone, epoch multiples below a day.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDuration, LIFETIME, parseDuration, periodAt, periodFor } from '../src/periods.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;
function period(text: string, at: string, tz = 'UTC') {
  const duration = parseDuration(text);
  assert.ok(duration, text);
  const p = periodAt(duration, new Date(at), tz);
  return [iso(p.start), iso(p.end)];
}

test('durations: accepted forms and rejected ones', () => {
  for (const ok of ['30s', '15m', '2h', '1d', '7d', '30d', '1mo', '2w']) assert.ok(parseDuration(ok), ok);
  for (const bad of ['', '0d', '1y', '-1d', '1.5h', 'd', '1 d', '1M']) assert.equal(parseDuration(bad), null, bad);
});

test('sub-day durations align to epoch multiples', () => {
  assert.deepEqual(period('30s', '2026-11-27T12:00:47Z'), ['2026-11-27T12:00:30.000Z', '2026-11-27T12:01:00.000Z']);
  assert.deepEqual(period('15m', '2026-11-27T12:14:59Z'), ['2026-11-27T12:00:00.000Z', '2026-11-27T12:15:00.000Z']);
  assert.deepEqual(period('2h', '2026-11-27T13:30:00Z'), ['2026-11-27T12:00:00.000Z', '2026-11-27T14:00:00.000Z']);
});

test('day, week (Monday) and month (1st) boundaries in UTC', () => {
  assert.deepEqual(period('1d', '2026-11-27T23:59:59Z'), ['2026-11-27T00:00:00.000Z', '2026-11-28T00:00:00.000Z']);
  assert.deepEqual(period('24h', '2026-11-27T10:00:00Z'), ['2026-11-27T00:00:00.000Z', '2026-11-28T00:00:00.000Z']);
  // 2026-11-27 is a Friday: the week started Monday the 23rd.
  assert.deepEqual(period('7d', '2026-11-27T10:00:00Z'), ['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
  assert.deepEqual(period('1mo', '2026-11-27T10:00:00Z'), ['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
  assert.deepEqual(period('30d', '2026-12-31T23:59:59Z'), ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
});

test('boundaries follow the configured time zone, across DST changes', () => {
  // Berlin is UTC+1 in winter: the day starts at 23:00Z the evening before.
  assert.deepEqual(period('1d', '2026-11-27T23:30:00Z', 'Europe/Berlin'), [
    '2026-11-27T23:00:00.000Z',
    '2026-11-28T23:00:00.000Z',
  ]);
  // The day DST starts in Berlin (2026-03-29) has 23 hours.
  assert.deepEqual(period('1d', '2026-03-29T12:00:00Z', 'Europe/Berlin'), [
    '2026-03-28T23:00:00.000Z',
    '2026-03-29T22:00:00.000Z',
  ]);
  // Month of November in New York starts at 04:00Z (EDT) and ends at 05:00Z (EST).
  assert.deepEqual(period('1mo', '2026-11-15T00:00:00Z', 'America/New_York'), [
    '2026-11-01T04:00:00.000Z',
    '2026-12-01T05:00:00.000Z',
  ]);
  assert.deepEqual(period('7d', '2026-11-30T03:00:00Z', 'America/New_York'), [
    '2026-11-23T05:00:00.000Z',
    '2026-11-30T05:00:00.000Z',
  ]);
});

test('periodFor (memoised per period) agrees with periodAt at every instant, back and forth across boundaries', () => {
  // Hourly steps over the Europe/Berlin DST change and a month end, forwards then backwards (a test clock
  // may move either way), for each calendar unit: the cached period is reused only inside its own bounds.
  const from = Date.parse('2026-10-24T00:00:00Z');
  const hours = Array.from({ length: 24 * 10 }, (_, i) => from + i * 3_600_000);
  for (const text of ['1d', '7d', '1mo', '2h']) {
    const duration = parseDuration(text);
    assert.ok(duration);
    for (const ms of [...hours, ...[...hours].reverse()]) {
      const at = new Date(ms);
      const expected = periodAt(duration, at, 'Europe/Berlin');
      const got = periodFor(text, at, 'Europe/Berlin');
      assert.deepEqual(
        [iso(got.start), iso(got.end)],
        [iso(expected.start), iso(expected.end)],
        `${text} at ${iso(at)}`,
      );
    }
  }
  assert.equal(periodFor(null, new Date(), 'UTC'), LIFETIME);
  assert.equal(periodFor('nonsense', new Date(), 'UTC'), LIFETIME);
});

test('expiry arithmetic', () => {
  assert.equal(addDuration(new Date('2026-01-31T00:00:00Z'), '1h').toISOString(), '2026-01-31T01:00:00.000Z');
  assert.equal(addDuration(new Date('2026-01-15T00:00:00Z'), '1mo').toISOString(), '2026-02-15T00:00:00.000Z');
});
