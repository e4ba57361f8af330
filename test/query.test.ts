// /spend/query against real ClickHouse: grouping, buckets, filters, tag combinations, metrics, paging,
// CSV, validation errors and access scoping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../src/auth/principal.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const ALICE_KEY = 'sk-alice-0123456789';
const BOB_KEY = 'sk-bob-0123456789';
const DAY = 24 * HOUR_MS;

const calls: CallRow[] = [
  {
    request_id: 'c1',
    start_ms: BASE_MS + 1000,
    key: ALICE_KEY,
    team: 'growth',
    user: 'u1',
    model: 'gpt-4o',
    cost_nano: 1_000_000_001,
    tags: ['onboarding', 'prod'],
    duration_ms: 100,
  },
  {
    request_id: 'c2',
    start_ms: BASE_MS + HOUR_MS + 5,
    key: ALICE_KEY,
    team: 'growth',
    user: 'u1',
    model: 'gpt-4o-mini',
    cost_nano: 2_500,
    tags: ['onboarding'],
    duration_ms: 300,
  },
  {
    request_id: 'c3',
    start_ms: BASE_MS + 2 * HOUR_MS,
    key: BOB_KEY,
    team: 'search',
    user: 'u2',
    customer: 'acme',
    model: 'gpt-4o',
    cost_nano: 7,
    tags: ['prod', 'search'],
    status: 500,
    duration_ms: 900,
  },
  {
    request_id: 'c4',
    start_ms: BASE_MS + DAY + 10,
    key: BOB_KEY,
    team: 'search',
    user: 'u2',
    customer: 'acme',
    model: 'claude-3-5',
    provider: 'anthropic',
    cost_nano: 300_000_000,
    tags: [],
    call_type: 'messages',
  },
  {
    request_id: 'c5',
    start_ms: BASE_MS + DAY + 2 * HOUR_MS,
    user: 'u3',
    model: 'gpt-4o',
    cost_nano: 0,
    cost_status: 'unpriced',
    tags: ['prod'],
    status: 429,
  },
  {
    request_id: 'c6',
    start_ms: BASE_MS + 2 * DAY + 59_999,
    key: ALICE_KEY,
    team: 'growth',
    customer: 'globex',
    model: 'gpt-4o',
    cost_nano: 123_456_789,
    tags: ['enterprise', 'onboarding', 'prod'],
  },
];
const FROM = new Date(BASE_MS).toISOString();
const TO = new Date(BASE_MS + 3 * DAY).toISOString();
const sumCost = (rows: CallRow[]) => rows.reduce((s, c) => s + c.cost_nano, 0);

describe('/spend/query', () => {
  let t: TestApp;
  const post = async (body: Record<string, unknown>, key = TEST_MASTER_KEY) =>
    t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${key}` },
      payload: { from: FROM, to: TO, ...body },
    });

  before(async () => {
    t = await startTestApp(
      testConfig({
        keys: [
          { key: ALICE_KEY, team_id: 'growth' },
          { key: BOB_KEY, team_id: 'search' },
        ],
      }),
    );
    await insertCalls(t.app.warehouse, calls);
  });
  after(async () => t?.close());

  it('groups by team with exact decimal money and a totals row', async () => {
    const res = await post({ group_by: ['team'], metrics: ['cost', 'requests', 'errors'] });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.ok(['rollup', 'raw'].includes(body.source));
    assert.deepEqual(body.rows, [
      { team: 'growth', cost_usd: '1.123459290', cost_nano: 1_123_459_290, requests: 3, errors: 0 },
      { team: 'search', cost_usd: '0.300000007', cost_nano: 300_000_007, requests: 2, errors: 1 },
      { team: null, cost_usd: '0.000000000', cost_nano: 0, requests: 1, errors: 1 },
    ]);
    assert.deepEqual(body.totals, { cost_usd: '1.423459297', cost_nano: sumCost(calls), requests: 6, errors: 2 });
    assert.equal(body.tag_rows_overlap, false);
  });

  it('answers the same through GET with the query string', async () => {
    const url = `/spend/query?from=${FROM}&to=${TO}&group_by=team&metrics=cost,requests,errors&filters.team.not_in=search`;
    const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      res.json().rows.map((r: { team: string | null }) => r.team),
      ['growth', null],
    );
  });

  it('buckets by day in a timezone', async () => {
    const res = await post({ granularity: 'day', timezone: 'America/New_York', metrics: ['cost'] });
    assert.equal(res.statusCode, 200, res.body);
    const rows = res.json().rows as { bucket: string; cost_nano: number }[];
    // New York is UTC-4 in October: calls before 04:00 UTC fall on the previous local day.
    assert.deepEqual(
      rows.map((r) => r.bucket),
      ['2026-10-04T00:00:00-04:00', '2026-10-05T00:00:00-04:00', '2026-10-06T00:00:00-04:00'],
    );
    assert.deepEqual(
      rows.map((r) => r.cost_nano),
      [1_000_002_508, 300_000_000, 123_456_789],
    );
  });

  it('filters by tag combinations: all, any, none', async () => {
    const cases: [Record<string, string[]>, string[]][] = [
      [{ all: ['onboarding', 'prod'] }, ['c1', 'c6']],
      [{ any: ['search', 'enterprise'] }, ['c3', 'c6']],
      [{ none: ['prod'] }, ['c2', 'c4']],
      [{ all: ['prod'], none: ['onboarding'] }, ['c3', 'c5']],
    ];
    for (const [tags, ids] of cases) {
      const res = await post({ tags, metrics: ['cost', 'requests'] });
      assert.equal(res.statusCode, 200, res.body);
      const expected = calls.filter((c) => ids.includes(c.request_id));
      assert.equal(res.json().totals.cost_nano, sumCost(expected), JSON.stringify(tags));
      assert.equal(res.json().totals.requests, expected.length, JSON.stringify(tags));
    }
  });

  it('groups by tag as overlapping rows, with untagged calls as null and totals counted once', async () => {
    const res = await post({ group_by: ['tag'], metrics: ['requests'], order_by: 'tag' });
    const body = res.json();
    assert.equal(body.tag_rows_overlap, true);
    assert.deepEqual(
      body.rows.map((r: { tag: string | null; requests: number }) => [r.tag, r.requests]),
      [
        [null, 1],
        ['enterprise', 1],
        ['onboarding', 3],
        ['prod', 4],
        ['search', 1],
      ],
    );
    assert.equal(body.totals.requests, 6);
  });

  it('filters dimensions with in / not_in, null meaning "not set"', async () => {
    const res = await post({ filters: { customer: { in: [null, 'acme'] }, model: { not_in: ['claude-3-5'] } } });
    const ids = ['c1', 'c2', 'c3', 'c5'];
    assert.equal(res.json().totals.cost_nano, sumCost(calls.filter((c) => ids.includes(c.request_id))));
  });

  it('computes latency and unpriced metrics (raw path) and says why', async () => {
    const res = await post({
      metrics: ['avg_latency_ms', 'p95_latency_ms', 'unpriced_requests'],
      group_by: ['status'],
    });
    const body = res.json();
    assert.equal(body.source, 'raw');
    assert.match(body.source_reason, /p95_latency_ms|avg_latency_ms|rollup/);
    const byStatus = Object.fromEntries(body.rows.map((r: { status: string }) => [r.status, r]));
    assert.deepEqual(Object.keys(byStatus).sort(), ['2xx', '4xx', '5xx']);
    assert.equal(byStatus['4xx'].unpriced_requests, 1);
    assert.equal(byStatus['5xx'].avg_latency_ms, 900);
    assert.equal(body.totals.unpriced_requests, 1);
  });

  it('pages with order_by, limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await post({ group_by: ['model'], order_by: ['-cost'], limit: 1, ...(cursor ? { cursor } : {}) });
      const body = res.json();
      seen.push(...body.rows.map((r: { model: string }) => r.model));
      cursor = body.next_cursor ?? undefined;
      if (!cursor) break;
    }
    assert.deepEqual(seen, ['gpt-4o', 'claude-3-5', 'gpt-4o-mini']);
  });

  it('counts every group in totals, not only the page, from rollup and raw alike', async () => {
    const metrics = ['cost', 'requests', 'errors', 'avg_latency_ms'];
    const whole = (await post({ metrics })).json().totals;
    for (const source of ['auto', 'raw']) {
      const paged = (await post({ group_by: ['model'], granularity: 'day', metrics, limit: 1, source })).json();
      assert.equal(paged.rows.length, 1, source);
      assert.ok(paged.next_cursor, source);
      assert.deepEqual(paged.totals, whole, source);
    }
    // p95 needs raw; its totals row is the quantile over every matching call, not over the page.
    const p95 = (await post({ group_by: ['team'], metrics: ['requests', 'p95_latency_ms'], limit: 1 })).json();
    const p95Whole = (await post({ metrics: ['requests', 'p95_latency_ms'] })).json().totals;
    assert.equal(p95.totals.requests, p95Whole.requests);
    assert.equal(typeof p95.totals.p95_latency_ms, 'number');
  });

  it('renders CSV with a totals line', async () => {
    const res = await post({ group_by: ['team'], metrics: ['cost'], format: 'csv' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/csv/);
    const lines = res.body.trim().split('\r\n');
    assert.equal(lines[0], 'row_type,team,cost_usd,cost_nano');
    assert.equal(lines[1], 'group,growth,1.123459290,1123459290');
    assert.equal(lines.at(-1), 'total,,1.423459297,1423459297');
  });

  it('rejects bad input with a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ group_by: ['team; DROP TABLE spend_logs'] }, 'group_by'],
      [{ order_by: 'cost`' }, 'order_by'],
      [{ order_by: 'p95_latency_ms' }, 'order_by'],
      [{ metrics: ['cost', 'cost'] }, 'metrics'],
      [{ timezone: "UTC') --" }, 'timezone'],
      [{ from: 'yesterday' }, 'from'],
      [{ cursor: 'nope' }, 'cursor'],
      [{ filters: { nope: { in: ['x'] } } }, 'filters'],
      [{ source: 'rollup', metrics: ['p95_latency_ms'] }, 'source'],
    ];
    for (const [body, param] of cases) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.body}`);
      assert.match(res.json().error.param ?? res.json().error.message, new RegExp(param));
    }
    const anon = await t.app.inject({ method: 'POST', url: '/spend/query', payload: {} });
    assert.equal(anon.statusCode, 401);
  });

  it('scopes a virtual key to its own spend, whatever it asks for', async () => {
    const res = await post({ group_by: ['key', 'team'], metrics: ['cost', 'requests'] }, ALICE_KEY);
    const body = res.json();
    assert.deepEqual(
      body.rows.map((r: { key: string; team: string }) => [r.key, r.team]),
      [[hashKey(ALICE_KEY), 'growth']],
    );
    const alice = calls.filter((c) => c.key === ALICE_KEY);
    assert.equal(body.totals.cost_nano, sumCost(alice));
    const sneaky = await post({ filters: { key: { in: [hashKey(BOB_KEY)] } } }, ALICE_KEY);
    assert.equal(sneaky.json().totals.requests, 0);
    const admin = await post({ filters: { key: { in: [hashKey(BOB_KEY)] } } });
    assert.equal(admin.json().totals.requests, 2);
  });
});
