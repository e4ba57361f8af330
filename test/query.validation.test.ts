// Query API input errors: impossible dates and times are refused naming the field (JavaScript's Date rolled
// `2026-02-30` over to March 2 and read `24:00` as the next midnight, so such a typo silently queried
// another window), LiteLLM endpoints name start_date/end_date, and wrong types say what was expected.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { AppError } from '../src/errors.js';
import { parseTime } from '../src/query/time.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';

/** The AppError parseTime throws, as [param, message]. */
function refusal(text: string, tz = 'UTC'): [string | null, string] {
  try {
    parseTime(text, 'from', tz);
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.status, 400);
    return [err.param, err.message];
  }
  assert.fail(`${text} was accepted`);
}

describe('parseTime', () => {
  it('reads every accepted form as before', () => {
    const at = Date.UTC(2026, 9, 5, 10, 30, 15);
    assert.equal(parseTime('2026-10-05', 'from', 'UTC'), Date.UTC(2026, 9, 5));
    assert.equal(parseTime('2024-02-29', 'from', 'UTC'), Date.UTC(2024, 1, 29), 'a leap day');
    assert.equal(parseTime('2026-10-05 10:30:15', 'from', 'UTC'), at);
    assert.equal(parseTime('2026-10-05T10:30', 'from', 'UTC'), at - 15_000);
    assert.equal(parseTime('2026-10-05T10:30:15Z', 'from', 'UTC'), at);
    assert.equal(parseTime('2026-10-05T10:30:15.250Z', 'from', 'UTC'), at + 250);
    assert.equal(parseTime('2026-10-05T10:30:15.123456789Z', 'from', 'UTC'), at + 123);
    assert.equal(parseTime('2026-10-05T12:30:15+02:00', 'from', 'UTC'), at);
    assert.equal(parseTime('2026-10-05T05:00:15-0530', 'from', 'UTC'), at);
    assert.equal(parseTime('2026-10-05T12:30:15+02:00', 'from', 'Asia/Tokyo'), at, 'an offset beats the zone');
    assert.equal(parseTime('2026-10-05 12:30:15', 'from', 'Europe/Paris'), at, 'no offset: the zone');
    assert.equal(parseTime('2026-12-31T23:59:59Z', 'from', 'UTC'), Date.UTC(2026, 11, 31, 23, 59, 59));
  });

  it('refuses dates and times that do not exist, naming the field', () => {
    assert.deepEqual(refusal('2026-02-30'), [
      'from',
      'from: "2026-02-30" is not a real date/time: day 30 does not exist (2026-02 has 28 days)',
    ]);
    assert.deepEqual(refusal('2025-02-29'), [
      'from',
      'from: "2025-02-29" is not a real date/time: day 29 does not exist (2025-02 has 28 days)',
    ]);
    assert.deepEqual(refusal('2026-13-01'), [
      'from',
      'from: "2026-13-01" is not a real date/time: month 13 does not exist',
    ]);
    assert.deepEqual(refusal('2026-00-10'), [
      'from',
      'from: "2026-00-10" is not a real date/time: month 00 does not exist',
    ]);
    assert.deepEqual(refusal('2026-04-31T10:00:00Z'), [
      'from',
      'from: "2026-04-31T10:00:00Z" is not a real date/time: day 31 does not exist (2026-04 has 30 days)',
    ]);
    assert.deepEqual(refusal('2026-01-01T24:00:00Z'), [
      'from',
      'from: "2026-01-01T24:00:00Z" is not a real date/time: hour 24 does not exist (00–23)',
    ]);
    assert.deepEqual(refusal('2026-01-01 23:60'), [
      'from',
      'from: "2026-01-01 23:60" is not a real date/time: minute 60 does not exist (00–59)',
    ]);
    assert.deepEqual(refusal('2026-01-01 23:59:60'), [
      'from',
      'from: "2026-01-01 23:59:60" is not a real date/time: second 60 does not exist (00–59)',
    ]);
    assert.deepEqual(refusal('2026-01-01T10:00:00+24:00'), [
      'from',
      'from: "2026-01-01T10:00:00+24:00" has an impossible UTC offset',
    ]);
    assert.equal(refusal('2026-1-1')[0], 'from');
    assert.equal(refusal('yesterday')[0], 'from');
  });
});

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

async function errorOf(method: 'GET' | 'POST', url: string, body?: unknown) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(body)} → ${res.body}`);
  return res.json().error as { param: string; message: string };
}

test('the spend query API refuses impossible dates and names wrong types', async () => {
  const cases: [unknown, string, RegExp][] = [
    [{ from: '2026-02-30', to: '2026-03-05' }, 'from', /^from: "2026-02-30" is not a real date\/time: day 30/],
    [{ from: '2026-01-01', to: '2026-13-01' }, 'to', /^to: "2026-13-01" is not a real date\/time: month 13/],
    [{ from: '2026-01-01T24:00:00Z', to: 'now' }, 'from', /hour 24 does not exist/],
    [{ limit: 'NaN' }, 'limit', /^limit: expected an integer, got NaN$/],
    [{ limit: 2.5 }, 'limit', /^limit: expected an integer, got 2.5$/],
    [{ group_by: 'team' }, 'group_by', /^group_by: expected an array, got string$/],
    [{ filters: { team: { in: ['a', '\ud800'] } } }, 'filters.team.in[1]', /lone surrogate U\+D800/],
    [{ tags: { any: ['\udc00'] } }, 'tags.any[0]', /lone surrogate U\+DC00/],
    [
      { granularity: 'fortnight' },
      'granularity',
      /^granularity: expected one of none, hour, day, week, month.*; got "fortnight"$/,
    ],
  ];
  for (const [body, param, message] of cases) {
    const error = await errorOf('POST', '/spend/query', body);
    assert.equal(error.param, param, JSON.stringify(error));
    assert.match(error.message, message);
  }
  const viaQueryString = await errorOf('GET', '/spend/query?from=2026-02-29&to=2026-03-02');
  assert.equal(viaQueryString.param, 'from');
});

test('LiteLLM endpoints name start_date / end_date, for impossible dates and out-of-range windows', async () => {
  const cases: [string, string, RegExp][] = [
    [
      '/spend/logs/v2?start_date=2026-02-30&end_date=2026-03-01',
      'start_date',
      /^start_date: "2026-02-30" is not a real/,
    ],
    ['/spend/logs?start_date=2026-02-01&end_date=2026-02-31', 'end_date', /^end_date: "2026-02-31" is not a real/],
    ['/global/spend/report?start_date=2026-01-01&end_date=2026-01-01 24:00:00', 'end_date', /hour 24 does not exist/],
    ['/spend/logs/v2?start_date=0001-01-01&end_date=0001-03-01', 'start_date', /between 1970 and 2100/],
    ['/spend/logs?start_date=2026-01-01&end_date=9999-03-01', 'end_date', /between 1970 and 2100/],
  ];
  for (const [url, param, message] of cases) {
    const error = await errorOf('GET', url);
    assert.equal(error.param, param, JSON.stringify(error));
    assert.match(error.message, message);
  }
});

test('a list longer than its field can hold is refused as a whole, not item by item (fuzz: 20,000 metrics)', async () => {
  const many = Array.from({ length: 20_000 }, (_, i) => `m${i}`);
  const error = await errorOf('POST', '/spend/query', { metrics: many });
  assert.equal(error.param, 'metrics', JSON.stringify(error));
  assert.match(error.message, /^metrics: at most \d+ items, got 20000/);
});
