// Hostile input to the query API: ids, tags and names full of quotes, backslashes, NUL, control bytes,
// unicode and SQL fragments. Never a 5xx, never an injection: every filter returns exactly what a correct
// filter over the inserted calls gives, and every bad name is a 400.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seededFloats } from './helpers/seededRandom.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const HOSTILE = [
  "'",
  "\\'",
  '\\',
  '"',
  '`',
  "x' OR 1=1 --",
  "'); DROP TABLE spend_logs; --",
  'a\u0000b',
  '\u0000',
  'tab\there',
  'line\nbreak',
  '\r\n',
  '%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder is the hostile input here
  '${x}',
  '{param:String}',
  '\\x27 UNION SELECT * FROM system.users --',
  'émoji 🎉',
  'ℌ𝔢𝔩𝔩𝔬',
  '\u202eRTL',
  '\u007f',
  ' ',
  ',',
  'a,b',
  '[]',
  "['a']",
  'NULL',
  '-- comment',
  '/* c */',
  ';',
];

describe('query API under hostile input', () => {
  let t: TestApp;
  const random = seededFloats(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const calls: CallRow[] = HOSTILE.flatMap((value, i) => [
    {
      request_id: `h-${i}-a`,
      start_ms: BASE_MS + i * 1000,
      team: value,
      user: value,
      customer: value,
      model: value,
      tags: [value, 'plain'],
      cost_nano: 1000 + i,
    },
    { request_id: `h-${i}-b`, start_ms: BASE_MS + HOUR_MS + i, team: `${value}x`, tags: [`${value}x`], cost_nano: 1 },
  ]);
  const window = { from: new Date(BASE_MS).toISOString(), to: new Date(BASE_MS + 2 * HOUR_MS).toISOString() };
  const post = (payload: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: payload as Record<string, unknown>,
    });

  before(async () => {
    t = await startTestApp();
    await insertCalls(t.app.warehouse, calls);
  });
  after(async () => t?.close());

  it('filters on hostile ids and tags match exactly the calls that carry them', async () => {
    for (let round = 0; round < 60; round++) {
      const values = [pick(HOSTILE), pick(HOSTILE)];
      const dimension = pick(['team', 'user', 'customer', 'model', 'tag'] as const);
      const negate = random() < 0.3;
      const has = (c: CallRow) => {
        const own = dimension === 'tag' ? (c.tags ?? []) : [c[dimension] ?? ''];
        return own.some((v) => values.includes(v));
      };
      const expected = calls.filter((c) => has(c) !== negate);
      const filter = negate ? { not_in: values } : { in: values };
      const source = pick(['auto', 'raw'] as const);
      const res = await post({ ...window, source, filters: { [dimension]: filter }, metrics: ['cost', 'requests'] });
      const label = `${dimension} ${negate ? 'not_in' : 'in'} ${JSON.stringify(values)} via ${source}`;
      assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
      assert.equal(res.json().totals.requests, expected.length, label);
      assert.equal(
        res.json().totals.cost_nano,
        expected.reduce((s, c) => s + c.cost_nano, 0),
        label,
      );
    }
  });

  it('tag combinations over hostile tags, and hostile tags as group rows, round-trip', async () => {
    for (let round = 0; round < 30; round++) {
      const a = pick(HOSTILE);
      const b = pick(HOSTILE);
      const res = await post({ ...window, tags: { any: [a, `${b}x`], none: [`${a}x`] }, metrics: ['requests'] });
      assert.equal(res.statusCode, 200, res.body);
      const expected = calls.filter((c) => {
        const tags = c.tags ?? [];
        return (tags.includes(a) || tags.includes(`${b}x`)) && !tags.includes(`${a}x`);
      });
      assert.equal(res.json().totals.requests, expected.length, JSON.stringify([a, b]));
    }
    const grouped = await post({ ...window, group_by: ['tag', 'team'], metrics: ['requests'], limit: 10_000 });
    assert.equal(grouped.statusCode, 200);
    const tags = new Set(grouped.json().rows.map((r: { tag: string }) => r.tag));
    for (const value of HOSTILE) assert.ok(tags.has(value), JSON.stringify(value));
  });

  it('hostile names, types and sizes are 400s, never 5xx', async () => {
    const bad: unknown[] = [
      { group_by: [pick(HOSTILE)] },
      { group_by: 'team' },
      { metrics: ['cost) FROM system.users --'] },
      { order_by: 'cost; DROP TABLE spend_logs' },
      { order_by: [{ field: 'cost', direction: "desc'" }] },
      { filters: { team: { in: 'x' } } },
      { filters: { team: { in: [1, 2] } } },
      { filters: { "team'": { in: ['x'] } } },
      { filters: { team: { in: ['x'.repeat(600)] } } },
      { filters: { team: { in: ['\ud800'] } } },
      { tags: { all: ['\udfff'] } },
      { tags: { all: [''] } },
      { tags: { some: ['x'] } },
      { timezone: "Europe/Paris'" },
      { timezone: '../../etc/passwd' },
      { granularity: 'minute' },
      { from: "2026-10-05'" },
      { from: '-99999999d' },
      { limit: -1 },
      { limit: 1e12 },
      { cursor: Buffer.from(JSON.stringify({ o: '1; DROP' })).toString('base64url') },
      { cursor: Buffer.from(JSON.stringify({ o: 1e15 })).toString('base64url') },
      { format: 'xml' },
      { source: 'spend_logs' },
      [],
      'null',
    ];
    for (const body of bad) {
      const res = await post(
        Array.isArray(body) || typeof body === 'string' ? body : { ...window, ...(body as object) },
      );
      assert.ok(
        res.statusCode >= 400 && res.statusCode < 500,
        `${JSON.stringify(body)} → ${res.statusCode} ${res.body}`,
      );
    }
    for (const query of [
      'group_by=team%27',
      'filters.team%27.in=x',
      'filters=%7Bbroken',
      'tags.all=%00',
      'order_by=-cost%60',
      'timezone=%27',
      'metrics=',
    ]) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/spend/query?${query}`,
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      });
      assert.ok(res.statusCode < 500, `${query} → ${res.statusCode} ${res.body}`);
    }
  });

  it('hostile values on the LiteLLM endpoints and logs are answered or refused, never 5xx', async () => {
    for (const value of HOSTILE) {
      const v = encodeURIComponent(value);
      for (const url of [
        `/spend/logs/v2?team_id=${v}&user_id=${v}&model=${v}&tags=${v}&key_alias=${v}&end_user=${v}`,
        `/spend/logs/v2/${v}`,
        `/spend/logs?request_id=${v}`,
        `/global/spend/tags?start_date=2026-10-05&end_date=2026-10-05&tags=${v}`,
        `/team/daily/activity?start_date=2026-10-05&end_date=2026-10-05&team_ids=${v}`,
        `/global/spend/report?start_date=${v}&end_date=2026-10-05`,
      ]) {
        const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_MASTER_KEY}` } });
        assert.ok(res.statusCode < 500, `${url} → ${res.statusCode} ${res.body}`);
      }
    }
    const logs = await t.app.inject({
      method: 'GET',
      url: `/spend/logs/v2?start_date=${window.from}&end_date=${window.to}&team_id=${encodeURIComponent("x' OR 1=1 --")}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.deepEqual(
      logs.json().data.map((r: { request_id: string }) => r.request_id),
      calls.filter((c) => c.team === "x' OR 1=1 --").map((c) => c.request_id),
    );
  });
});
