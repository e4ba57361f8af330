// tag_attribution: split — each call's cost divided among its tags, exactly, so tag rows add up to the real
// total (chargeback); the same shares from every source that can answer; worked by hand on small cases.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const DAY = 24 * HOUR_MS;
const TAGS = ['a', 'b', 'c', 'd', 'e'];

/** Deterministic calls over two days: costs up to ~2 USD, 0–5 tags, a few negative corrections. */
function calls(n: number): CallRow[] {
  let seed = 7;
  const next = (mod: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % mod;
  };
  return Array.from({ length: n }, (_, i) => ({
    request_id: `split-${i}`,
    start_ms: BASE_MS + next(2 * DAY),
    team: `team-${next(3)}`,
    model: ['gpt-4o', 'gpt-4o-mini'][next(2)],
    cost_nano: (next(10) === 0 ? -1 : 1) * next(2_000_000_000),
    prompt_tokens: next(5000),
    tags: TAGS.filter(() => next(2) === 0),
  }));
}

type Row = { tag: string | null; model?: string; bucket?: string; cost_nano: number; requests: number };

describe('tag_attribution: split', () => {
  let t: TestApp;
  const random = calls(400);
  // Worked by hand below: 10 over [x, y, z] → 4, 3, 3; −7 over [x, y] → −4, −3; 5 untagged → (untagged) 5.
  const small: CallRow[] = [
    { request_id: 'h-1', start_ms: BASE_MS + 3 * DAY + 1000, team: 'hand', cost_nano: 10, tags: ['z', 'y', 'x'] },
    { request_id: 'h-2', start_ms: BASE_MS + 3 * DAY + 2000, team: 'hand', cost_nano: -7, tags: ['x', 'y'] },
    { request_id: 'h-3', start_ms: BASE_MS + 3 * DAY + 3000, team: 'hand', cost_nano: 5 },
  ];
  const query = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: body,
    });
    return { status: res.statusCode, body: res.json() };
  };
  const ok = async (body: Record<string, unknown>) => {
    const res = await query(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const window = { from: new Date(BASE_MS).toISOString(), to: new Date(BASE_MS + 2 * DAY).toISOString() };
  const sum = (rows: Row[], field: 'cost_nano' | 'requests') => rows.reduce((s, r) => s + Number(r[field]), 0);

  before(async () => {
    t = await startTestApp();
    await insertCalls(t.app.warehouse, [...random, ...small]);
  });
  after(async () => t?.close());

  it('divides each call exactly: the hand-worked shares, remainders to the first tags in order', async () => {
    const answer = await ok({
      from: new Date(BASE_MS + 3 * DAY).toISOString(),
      to: new Date(BASE_MS + 4 * DAY).toISOString(),
      group_by: ['tag'],
      tag_attribution: 'split',
      order_by: 'tag',
    });
    assert.equal(answer.tag_rows_overlap, false);
    assert.equal(answer.tag_attribution, 'split');
    const shares = Object.fromEntries(answer.rows.map((r: Row) => [r.tag ?? '(untagged)', r.cost_nano]));
    assert.deepEqual(shares, { '(untagged)': 5, x: 4 - 4, y: 3 - 3, z: 3 });
    assert.equal(sum(answer.rows, 'cost_nano'), 8);
    assert.equal(answer.totals.cost_nano, 8);
    // The overlapping view counts each call under each tag: x = 10 − 7, y = 10 − 7, z = 10 (rows sum to 14).
    const overlap = await ok({
      from: new Date(BASE_MS + 3 * DAY).toISOString(),
      to: new Date(BASE_MS + 4 * DAY).toISOString(),
      group_by: ['tag'],
      order_by: 'tag',
    });
    assert.equal(overlap.tag_rows_overlap, true);
    const counted = Object.fromEntries(overlap.rows.map((r: Row) => [r.tag ?? '(untagged)', r.cost_nano]));
    assert.deepEqual(counted, { '(untagged)': 5, x: 3, y: 3, z: 10 });
  });

  it('rows add up to the totals to the nano-USD, per bucket and model, on every source', async () => {
    const expectedCost = random.reduce((s, c) => s + c.cost_nano, 0);
    const answers: Record<string, Row[]> = {};
    for (const source of ['auto', 'raw'] as const) {
      for (const granularity of ['none', 'day', 'hour'] as const) {
        const answer = await ok({
          ...window,
          group_by: ['tag', 'model'],
          granularity,
          source,
          tag_attribution: 'split',
          metrics: ['cost', 'requests', 'prompt_tokens'],
          limit: 10_000,
        });
        assert.equal(answer.totals.cost_nano, expectedCost);
        assert.equal(sum(answer.rows, 'cost_nano'), expectedCost, `${source} ${granularity}`);
        assert.equal(sum(answer.rows, 'requests'), random.length, `${source} ${granularity}`);
        if (granularity !== 'hour' || source === 'raw') answers[`${source} ${granularity}`] = answer.rows;
        if (source === 'auto') assert.notEqual(answer.source_table, 'spend_logs', 'a rollup answers whole days');
      }
    }
    // The same shares whichever table answered (group sums are the same; so are their splits).
    const key = (rows: Row[]) =>
      JSON.stringify(
        rows.map((r) => [r.bucket, r.tag, r.model, r.cost_nano, r.requests]).sort((x, y) => (x < y ? -1 : 1)),
      );
    assert.equal(key(answers['auto day'] ?? []), key(answers['raw day'] ?? []));
    assert.equal(key(answers['auto none'] ?? []), key(answers['raw none'] ?? []));
  });

  it('a filter on the tag dimension keeps those tags’ shares only', async () => {
    const all = await ok({ ...window, group_by: ['tag'], tag_attribution: 'split', limit: 100 });
    const some = await ok({
      ...window,
      group_by: ['tag'],
      tag_attribution: 'split',
      filters: { tag: { in: ['a', 'b'] } },
    });
    const share = (rows: Row[], tag: string) => rows.find((r) => r.tag === tag)?.cost_nano;
    assert.deepEqual(some.rows.map((r: Row) => r.tag).sort(), ['a', 'b']);
    assert.equal(share(some.rows, 'a'), share(all.rows, 'a'));
    assert.equal(share(some.rows, 'b'), share(all.rows, 'b'));
  });

  it('the query string takes it; latencies cannot be split (400 naming metrics); a bad value is a 400', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/spend/query?from=${window.from}&to=${window.to}&group_by=tag&tag_attribution=split`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(sum(res.json().rows, 'cost_nano'), res.json().totals.cost_nano);
    const latency = await query({
      ...window,
      group_by: ['tag'],
      tag_attribution: 'split',
      metrics: ['avg_latency_ms'],
    });
    assert.equal(latency.status, 400);
    assert.equal(latency.body.error.param, 'metrics');
    assert.match(latency.body.error.message, /avg_latency_ms/);
    const bad = await query({ ...window, group_by: ['tag'], tag_attribution: 'evenly' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /tag_attribution/);
  });
});
