// /spend/logs/v2: page and cursor paging (rollup-assisted) must return exactly what sorting every call
// would; filters, raw-only filters, sort order, and one call's detail with its stored prompt/response.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const N = 1500;
// Calls spread over ~50 hours with bursts, some sharing a millisecond (ties broken by request_id).
const calls: CallRow[] = Array.from({ length: N }, (_, i) => ({
  request_id: `req-${String((i * 7919) % N).padStart(5, '0')}`,
  start_ms: BASE_MS + Math.floor((i * i) / 10) * 1000 + (i % 3 === 0 ? 0 : 17),
  team: `team-${i % 4}`,
  key: `sk-log-key-${i % 3}-0123456789`,
  key_alias: `alias-${i % 3}`,
  model: i % 5 === 0 ? 'claude-3-5' : 'gpt-4o',
  status: i % 11 === 0 ? 429 : 200,
  cost_nano: i + 1,
  tags: i % 2 ? ['batch'] : ['chat', 'prod'],
}));
const newestFirst = (a: CallRow, b: CallRow) =>
  b.start_ms - a.start_ms || (a.request_id < b.request_id ? 1 : a.request_id > b.request_id ? -1 : 0);

describe('/spend/logs/v2', () => {
  let t: TestApp;
  const last = calls.reduce((m, c) => Math.max(m, c.start_ms), 0);
  // A window that starts and ends mid-hour, so edge hours are counted on raw.
  const from = new Date(BASE_MS + 30 * 60_000).toISOString();
  const to = new Date(last - 20 * 60_000).toISOString();
  const inWindow = calls.filter((c) => c.start_ms >= Date.parse(from) && c.start_ms < Date.parse(to));
  const get = async (query: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/spend/logs/v2?start_date=${from}&end_date=${to}&${query}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };

  before(async () => {
    t = await startTestApp();
    await insertCalls(t.app.warehouse, calls);
    assert.ok(last - BASE_MS > 40 * HOUR_MS);
  });
  after(async () => t?.close());

  it('returns LiteLLM page shape with exact totals, at any page', async () => {
    const expected = [...inWindow].sort(newestFirst).map((c) => c.request_id);
    const first = await get('page=1&page_size=50');
    assert.equal(first.total, inWindow.length);
    assert.equal(first.total_pages, Math.ceil(inWindow.length / 50));
    assert.equal(first.page_size, 50);
    assert.deepEqual(
      first.data.map((r: { request_id: string }) => r.request_id),
      expected.slice(0, 50),
    );
    assert.equal(first.read_plan, 'rollup_hours');
    for (const page of [2, 7, 13, first.total_pages]) {
      const body = await get(`page=${page}&page_size=50`);
      assert.equal(body.read_plan, 'rollup_hours', `page ${page}`);
      assert.deepEqual(
        body.data.map((r: { request_id: string }) => r.request_id),
        expected.slice((page - 1) * 50, page * 50),
        `page ${page}`,
      );
    }
    assert.deepEqual((await get(`page=${first.total_pages + 1}&page_size=50`)).data, []);
  });

  it('walks every call once with the keyset cursor, both directions', async () => {
    for (const order of ['desc', 'asc'] as const) {
      const expected = [...inWindow].sort(newestFirst).map((c) => c.request_id);
      if (order === 'asc') expected.reverse();
      const seen: string[] = [];
      let cursor = '';
      for (let i = 0; i < 100; i++) {
        const body = await get(`page_size=97&sort_order=${order}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...body.data.map((r: { request_id: string }) => r.request_id));
        assert.notEqual(body.read_plan, 'fallback_scan');
        if (!body.next_cursor) break;
        cursor = body.next_cursor;
      }
      assert.deepEqual(seen, expected, order);
    }
  });

  it('filters by key, team, model, tag, status (class, code, LiteLLM success/failure) and key alias', async () => {
    const cases: [string, (c: CallRow) => boolean][] = [
      ['team_id=team-1', (c) => c.team === 'team-1'],
      [
        'api_key=sk-log-key-2-0123456789&model=claude-3-5',
        (c) => c.key === 'sk-log-key-2-0123456789' && c.model === 'claude-3-5',
      ],
      ['tags=prod', (c) => (c.tags ?? []).includes('prod')],
      ['status_filter=failure', (c) => (c.status ?? 200) >= 400],
      ['status=429', (c) => c.status === 429],
      ['status=2xx', (c) => (c.status ?? 200) < 300],
      ['key_alias=alias-1', (c) => c.key_alias === 'alias-1'],
    ];
    for (const [query, keep] of cases) {
      const expected = inWindow.filter(keep).sort(newestFirst);
      const body = await get(`${query}&page=3&page_size=20`);
      assert.equal(body.total, expected.length, query);
      assert.equal(body.read_plan, /status=429|key_alias/.test(query) ? 'window_scan' : 'rollup_hours', query);
      assert.deepEqual(
        body.data.map((r: { request_id: string }) => r.request_id),
        expected.slice(40, 60).map((c) => c.request_id),
        query,
      );
    }
  });

  it('shows one call with its stored prompt and response', async () => {
    const call = calls[10] as CallRow;
    await t.app.warehouse.insert('spend_payloads', [
      {
        request_id: call.request_id,
        start_time: Math.floor(call.start_ms / 1000),
        messages: JSON.stringify([{ role: 'user', content: 'hi' }]),
        response: 'plain text',
        inserted_at: 0,
      },
    ]);
    const res = await t.app.inject({
      method: 'GET',
      url: `/spend/logs/v2/${call.request_id}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    const detail = res.json();
    assert.equal(detail.request_id, call.request_id);
    assert.equal(detail.cost_nano, call.cost_nano);
    assert.deepEqual(detail.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(detail.response, 'plain text');
    assert.equal(detail.metadata.user_api_key_alias, call.key_alias);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/spend/logs/ui/nope',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(missing.statusCode, 404);
  });

  it('shows a call whose stored prompt nests deeper than a request body may as text, not a 500', async () => {
    const call = calls[11] as CallRow;
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await t.app.warehouse.insert('spend_payloads', [
      {
        request_id: call.request_id,
        start_time: Math.floor(call.start_ms / 1000),
        messages: deep,
        response: JSON.stringify({ ok: [[1]] }),
        inserted_at: 0,
      },
    ]);
    const res = await t.app.inject({
      method: 'GET',
      url: `/spend/logs/v2/${call.request_id}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    // Parsed, 100,000 levels overflowed the stack when the answer was serialised.
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.equal(res.json().messages, deep);
    assert.deepEqual(res.json().response, { ok: [[1]] });
  });

  it('names the cursor when a forged one carries a lone surrogate', async () => {
    const cursor = Buffer.from(JSON.stringify({ t: BASE_MS, r: '\ud800' })).toString('base64url');
    const res = await t.app.inject({
      method: 'GET',
      url: `/spend/logs/v2?cursor=${cursor}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.param, 'cursor');
  });

  it('rejects a forged cursor and bad parameters with 400', async () => {
    for (const query of ['cursor=xyz', 'page_size=5000', 'status=abc', 'sort_order=sideways', 'bogus=1']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/spend/logs/v2?${query}`,
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      });
      assert.equal(res.statusCode, 400, `${query} → ${res.body}`);
    }
  });
});
