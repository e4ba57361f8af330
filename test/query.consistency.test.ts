// One number everywhere: the same window asked through /spend/query on every rollup and on raw, the
// LiteLLM-compatible endpoints, the logs, scopeSpendNano, and a direct SUM over spend_logs — the same nano-USD.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { hashKey } from '../src/auth/principal.js';
import { type Sql, sql } from '../src/clickhouse/sql.js';
import type { SelectSpec } from '../src/query/build.js';
import { RAW } from '../src/query/catalog.js';
import { availableRollups } from '../src/query/rollup.js';
import { type SpendFilter, scopeSpendNano } from '../src/query/spendTotal.js';
import { tagSetIndex } from '../src/query/tagSetIndex.js';
import { seededInts } from './helpers/seededRandom.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const DAY = 24 * HOUR_MS;
const TAGS = ['onboarding', 'search', 'prod', 'staging', 'enterprise', 'free'];

/** Deterministic pseudo-random calls over three days (mulberry32: the test must be repeatable). */
function syntheticCalls(n: number): CallRow[] {
  const next = seededInts(42);
  return Array.from({ length: n }, (_, i) => ({
    request_id: `r-${i}`,
    start_ms: BASE_MS + next(3 * DAY),
    key: `sk-key-${next(6)}-0123456789`,
    team: next(5) === 0 ? undefined : `team-${next(4)}`,
    user: `user-${next(9)}`,
    customer: next(2) ? `cust-${next(3)}` : undefined,
    model: ['gpt-4o', 'gpt-4o-mini', 'claude-3-5'][next(3)],
    status: [200, 200, 200, 429, 500][next(5)],
    cost_nano: next(3) === 0 ? 0 : next(2_000_000_000) + 1,
    tags: TAGS.filter(() => next(3) === 0),
    duration_ms: next(2000),
  }));
}

describe('one spend total everywhere', () => {
  let t: TestApp;
  // Two calls in the same second, either side of the tag test's window edge (17.25 s past an hour).
  const edge = (request_id: string, start_ms: number): CallRow => ({
    request_id,
    start_ms,
    team: 'team-1',
    cost_nano: 1_000_003,
    tags: ['onboarding', 'prod'],
  });
  const calls = [
    ...syntheticCalls(600),
    edge('edge-before', BASE_MS + 3 * HOUR_MS + 17_100),
    edge('edge-after', BASE_MS + 3 * HOUR_MS + 17_400),
  ];
  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
    assert.equal(res.statusCode, 200, `${url} → ${res.body}`);
    return res.json();
  };
  const post = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: body,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const directSum = async (from: number, to: number, keyHash?: string) =>
    directScopeSum(from, to, keyHash ? sql` AND key_hash = ${keyHash}` : sql``);
  const directScopeSum = async (from: number, to: number, keyed: Sql) => {
    const rows = await t.app.warehouse.rows(
      sql`SELECT sum(cost_nano) AS s FROM spend_logs WHERE start_time_ms >= ${from} AND start_time_ms < ${to}${keyed}`,
      z.object({ s: z.coerce.number() }),
    );
    return rows[0]?.s ?? 0;
  };

  before(async () => {
    t = await startTestApp();
    await insertCalls(t.app.warehouse, calls);
  });
  after(async () => t?.close());

  it('agrees over whole days (every rollup, raw, LiteLLM endpoints)', async () => {
    const from = BASE_MS;
    const to = BASE_MS + 3 * DAY;
    const expected = await directSum(from, to);
    assert.equal(
      expected,
      calls.reduce((s, c) => s + c.cost_nano, 0),
    );
    const window = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const answers: Record<string, number> = {};
    const viaTable = async (label: string, body: Record<string, unknown>, table: string) => {
      const result = await post({ ...window, ...body });
      assert.equal(result.source_table, table, label);
      answers[label] = result.totals.cost_nano;
      if (result.rows.length && !result.tag_rows_overlap) {
        answers[`${label} (rows)`] = result.rows.reduce((s: number, r: { cost_nano: number }) => s + r.cost_nano, 0);
      }
    };
    await viaTable('team_daily by team', { group_by: ['team', 'call_type'] }, 'spend_team_daily');
    await viaTable('scope_daily by team', { group_by: ['team'] }, 'spend_scope_daily');
    await viaTable('scope_daily by key per day', { group_by: ['key'], granularity: 'day' }, 'spend_scope_daily');
    await viaTable('scope_daily by customer', { group_by: ['customer'], granularity: 'week' }, 'spend_scope_daily');
    await viaTable('scope_daily per day', { granularity: 'day', metrics: ['cost', 'errors'] }, 'spend_scope_daily');
    await viaTable('team_tags_daily by tag', { group_by: ['team'], tags: { none: ['nope'] } }, 'spend_team_tags_daily');
    await viaTable('daily by tag', { group_by: ['model'], tags: { none: ['nope'] } }, 'spend_daily');
    await viaTable('key_daily by key', { group_by: ['key', 'user'], granularity: 'day' }, 'spend_key_daily');
    await viaTable('hourly by hour', { group_by: ['customer'], granularity: 'hour' }, 'spend_hourly');
    await viaTable('hourly_team by hour', { group_by: ['tag'], granularity: 'hour' }, 'spend_hourly_team');
    await viaTable('pricing_daily by tier', { group_by: ['service_tier', 'price_source'] }, 'spend_pricing_daily');
    await viaTable('raw forced', { group_by: ['team', 'model'], source: 'raw' }, 'spend_logs');
    await viaTable('raw p95', { metrics: ['cost', 'p95_latency_ms'], granularity: 'day' }, 'spend_logs');

    const d = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const range = `start_date=${d(from)}&end_date=${d(to - DAY)}`;
    const sumOf = (items: { [k: string]: number }[], field: string) => items.reduce((s, x) => s + (x[field] ?? 0), 0);
    const teamReport = await get(`/global/spend/report?${range}&group_by=team`);
    answers['/global/spend/report team'] = teamReport.reduce(
      (s: number, day: { teams: { total_spend_nano: number }[] }) => s + sumOf(day.teams, 'total_spend_nano'),
      0,
    );
    answers['/global/spend/report api_key'] = sumOf(
      await get(`/global/spend/report?${range}&group_by=api_key`),
      'total_cost_nano',
    );
    for (const entity of ['user', 'team', 'customer', 'tag']) {
      answers[`/${entity}/daily/activity`] = (
        await get(`/${entity}/daily/activity?${range}`)
      ).metadata.total_spend_nano;
    }
    answers['/spend/logs summary'] = sumOf(await get(`/spend/logs?${range}`), 'spend_nano');
    let logsSum = 0;
    let cursor = '';
    for (let page = 0; page < 20; page++) {
      const body = await get(
        `/spend/logs/v2?start_date=${d(from)}&end_date=${d(to - DAY)}&page_size=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      logsSum += sumOf(body.data, 'cost_nano');
      if (!body.next_cursor) break;
      cursor = body.next_cursor;
    }
    answers['/spend/logs/v2 pages'] = logsSum;
    answers.scopeSpendNano = await scopeSpendNano(t.app.warehouse, {}, { start: new Date(from), end: new Date(to) });

    for (const [label, value] of Object.entries(answers)) assert.equal(value, expected, label);
  });

  it('answers tag filters from raw through the tag-set index exactly as the rollup and the calls themselves', async () => {
    // A partial-day window with an edge inside a second: no rollup can answer, so raw does, reading tag-set
    // hashes (and the ms column for that edge).
    const from = BASE_MS + 3 * HOUR_MS + 17_250;
    const to = BASE_MS + 2 * DAY + 20 * HOUR_MS;
    const window = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const inWindow = calls.filter((c) => c.start_ms >= from && c.start_ms < to);
    const tagsOf = (c: CallRow) => (c.tags?.length ? c.tags : ['']);
    const cases: [Record<string, unknown>, (c: CallRow) => boolean][] = [
      [{ tags: { all: ['prod', 'onboarding'] } }, (c) => ['prod', 'onboarding'].every((x) => c.tags?.includes(x))],
      [{ tags: { any: ['search', 'free'] } }, (c) => ['search', 'free'].some((x) => c.tags?.includes(x))],
      [
        { tags: { none: ['prod'], any: ['staging'] } },
        (c) => !c.tags?.includes('prod') && !!c.tags?.includes('staging'),
      ],
      [{ filters: { tag: { in: [null] } } }, (c) => tagsOf(c).includes('')],
      [
        { filters: { tag: { not_in: ['enterprise', null] } }, tags: { all: ['free'] } },
        (c) => !tagsOf(c).some((x) => x === 'enterprise' || x === '') && !!c.tags?.includes('free'),
      ],
      [{ tags: { all: ['no-such-tag'] } }, () => false],
    ];
    for (const [filter, keep] of cases) {
      const label = JSON.stringify(filter);
      const matching = inWindow.filter(keep);
      const expected = matching.reduce((s, c) => s + c.cost_nano, 0);
      const raw = await post({
        ...window,
        ...filter,
        group_by: ['team'],
        metrics: ['cost', 'requests', 'p95_latency_ms'],
      });
      assert.equal(raw.source_table, 'spend_logs', label);
      assert.equal(typeof raw.tag_sets_matched, 'number', label);
      assert.equal(raw.totals.cost_nano, expected, label);
      assert.equal(raw.totals.requests, matching.length, label);
      // Whole hours: the hourly rollup answers the same question from its tag sets.
      const hours = { from: new Date(from - 17_250 + HOUR_MS).toISOString(), to: window.to };
      const rollup = await post({ ...hours, ...filter, metrics: ['cost'] });
      const forced = await post({ ...hours, ...filter, metrics: ['cost'], source: 'raw' });
      assert.equal(rollup.source, 'rollup', label);
      assert.equal(forced.tag_sets_matched === null, false, label);
      assert.equal(forced.totals.cost_nano, rollup.totals.cost_nano, label);
    }
    // Grouped by tag, every call's tags are exploded anyway: no index.
    const byTag = await post({
      ...window,
      group_by: ['tag'],
      tags: { all: ['prod'] },
      metrics: ['cost', 'p95_latency_ms'],
    });
    assert.equal(byTag.tag_sets_matched, null);
  });

  it('leaves the tags to the scan when two tag sets the filter tells apart share a hash', async () => {
    const spec: SelectSpec = {
      source: RAW,
      window: { fromMs: BASE_MS, toMs: BASE_MS + 3 * DAY },
      timezone: 'UTC',
      granularity: 'none',
      groupBy: [],
      filters: {},
      tags: { all: ['prod'] },
      metrics: ['cost'],
      scope: {},
    };
    const rollups = await availableRollups(t.app.warehouse);
    const stored = await tagSetIndex(t.app.warehouse, spec, rollups);
    assert.ok(stored && stored.sets > 0);
    // Hashing only the set's size: ['prod'] and ['search'] collide, and one matches while the other does not.
    const bySize = (column: string) => `toUInt64(length(${column}))`;
    assert.equal(await tagSetIndex(t.app.warehouse, spec, rollups, bySize), null);
    // No tag filter: nothing to look up.
    assert.equal(await tagSetIndex(t.app.warehouse, { ...spec, tags: {} }, rollups), null);
  });

  it('agrees for one key on an hour-aligned window and via scopeSpendNano', async () => {
    const key = hashKey('sk-key-3-0123456789');
    const from = BASE_MS + 5 * HOUR_MS;
    const to = BASE_MS + DAY + 7 * HOUR_MS;
    const expected = await directSum(from, to, key);
    assert.ok(expected > 0);
    const window = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      filters: { key: { in: [key] } },
    };
    const rollup = await post(window);
    assert.equal(rollup.source_table, 'spend_hourly');
    assert.equal(rollup.totals.cost_nano, expected);
    assert.equal((await post({ ...window, source: 'raw' })).totals.cost_nano, expected);
    const total = await scopeSpendNano(
      t.app.warehouse,
      { key_hashes: [key] },
      { start: new Date(from), end: new Date(to) },
    );
    assert.equal(total, expected);
    const allTime = await scopeSpendNano(t.app.warehouse, { key_hashes: [key] }, { start: new Date(0), end: null });
    assert.equal(allTime, await directSum(0, Date.now() + DAY, key));
  });

  it('equals a direct sum for every scope the management API and budgets ask about', async () => {
    const windows = [
      { start: new Date(0), end: null },
      { start: new Date(BASE_MS + 3 * HOUR_MS), end: new Date(BASE_MS + 2 * DAY + 5 * HOUR_MS) },
    ];
    const key1 = hashKey('sk-key-1-0123456789');
    const key2 = hashKey('sk-key-2-0123456789');
    const scopes: [SpendFilter, Sql][] = [
      [{ key_hashes: [key1] }, sql` AND key_hash = ${key1}`],
      [{ key_hashes: [key1, key2] }, sql` AND key_hash IN (${key1}, ${key2})`],
      [{ team_id: 'team-2' }, sql` AND team_id = 'team-2'`],
      [{ user_id: 'user-4' }, sql` AND user_id = 'user-4'`],
      [{ customer_id: 'cust-1' }, sql` AND customer_id = 'cust-1'`],
      [{ tag: 'prod' }, sql` AND has(tags, 'prod')`],
      [{ team_id: 'team-2', tag: 'prod' }, sql` AND team_id = 'team-2' AND has(tags, 'prod')`],
    ];
    for (const w of windows) {
      const to = w.end ? w.end.getTime() : Date.now() + DAY;
      for (const [filter, condition] of scopes) {
        const total = await scopeSpendNano(t.app.warehouse, filter, w);
        assert.ok(total > 0, JSON.stringify(filter));
        const expected = await directScopeSum(w.start.getTime(), to, condition);
        assert.equal(total, expected, `${JSON.stringify(filter)} ${w.end ? 'window' : 'all time'}`);
      }
    }
  });
});
