// spend_scope_daily (clickhouse/066) against the calls themselves: calls stored before the migration
// (its backfill) and after it (its view), with re-pricing corrections, calls without a team / customer /
// tags, calls with several tags and errors. Every scope's rows, the query API answers the planner sends to
// it, the forecast's daily spend and the anomaly series equal sums over spend_logs and over the test's own
// calls, to the nano-USD.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ANOMALY_DIMENSIONS } from '../src/anomalies/series.js';
import { hashKey } from '../src/auth/principal.js';
import { loadMigrations, migrate } from '../src/clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { sql } from '../src/clickhouse/sql.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';
import type { Dimension } from '../src/query/catalog.js';
import { runReport } from '../src/query/engine.js';
import { dailySpend } from '../src/query/forecast/scopeForecast.js';
import { createRedis } from '../src/redis/plugin.js';
import { spendPoints } from './helpers/anomalyPoints.js';
import { seededInts } from './helpers/seededRandom.js';
import { dropTestState, testConfig } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, spendLogRow } from './query.fixtures.js';

const DAY = 24 * HOUR_MS;
const DAYS = 4;
const SCOPES = ['key', 'team', 'user', 'customer', 'model', 'tag'] as const;
type Scope = (typeof SCOPES)[number];

interface Call extends CallRow {
  correction?: boolean;
}

/** Deterministic calls over DAYS days (mulberry32): some without team, customer or tags, some with several. */
function calls(prefix: string, n: number, seed0: number): Call[] {
  const next = seededInts(seed0);
  return Array.from({ length: n }, (_, i) => ({
    request_id: `${prefix}-${i}`,
    start_ms: BASE_MS + next(DAYS * DAY),
    key: `sk-scope-${next(5)}-0123456789`,
    team: next(4) === 0 ? undefined : `team-${next(3)}`,
    user: `user-${next(6)}`,
    customer: next(2) ? `cust-${next(3)}` : undefined,
    model: ['gpt-4o', 'gpt-4o-mini', 'claude-3-5'][next(3)],
    status: [200, 200, 200, 429, 500][next(5)],
    prompt_tokens: next(1000),
    completion_tokens: next(500),
    cost_nano: next(3_000_000_000) + 1,
    tags: ['a', 'b', 'c', 'd'].filter(() => next(3) === 0),
    // A correction: a signed cost delta for an earlier call, with its attribution; no call of its own.
    correction: next(8) === 0,
  }));
}

const row = (c: Call): Record<string, unknown> =>
  c.correction ? { ...spendLogRow(c), source: 'correction', cost_nano: -Math.floor(c.cost_nano / 3) } : spendLogRow(c);
const costOf = (c: Call) => Number(row(c).cost_nano);

/** The values a call has in `scope` ('' when none; one per tag, '' for no tags), as the rollup keeps them. */
function valuesOf(c: Call, scope: Scope): string[] {
  const r = spendLogRow(c);
  switch (scope) {
    case 'key':
      return [String(r.key_hash)];
    case 'team':
      return [String(r.team_id)];
    case 'user':
      return [String(r.user_id)];
    case 'customer':
      return [String(r.customer_id)];
    case 'model':
      return [String(r.model)];
    case 'tag':
      return (r.tags as string[]).length ? (r.tags as string[]) : [''];
  }
}

const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY;

/** `day|value` → the sums the rollup should hold, over the test's own calls. */
function expected(all: readonly Call[], scope: Scope) {
  const out = new Map<string, { cost: number; requests: number; errors: number; tokens: number }>();
  for (const c of all) {
    for (const value of valuesOf(c, scope)) {
      const id = `${dayOf(c.start_ms)}|${value}`;
      const sums = out.get(id) ?? { cost: 0, requests: 0, errors: 0, tokens: 0 };
      sums.cost += costOf(c);
      if (!c.correction) {
        sums.requests += 1;
        if ((c.status ?? 200) >= 400) sums.errors += 1;
      }
      sums.tokens += Number(row(c).total_tokens);
      out.set(id, sums);
    }
  }
  return out;
}

describe('spend_scope_daily', () => {
  const config = testConfig();
  let warehouse: Warehouse;
  let redis: Redis;
  const before066 = calls('old', 400, 7);
  const after066 = calls('new', 300, 99);
  const all = [...before066, ...after066];

  before(async () => {
    await ensureDatabase(config.clickhouse);
    warehouse = createWarehouse(config.clickhouse);
    redis = createRedis(config.redis);
    // The calls of before066 are stored before the rollup exists: the migration's backfill must count them.
    await migrate(
      warehouse,
      redis,
      loadMigrations().filter((m) => m.version < 66),
    );
    await warehouse.insert('spend_logs', before066.map(row));
    const applied = await migrate(warehouse, redis);
    assert.deepEqual(applied.applied, ['066_spend_scope_daily']);
    await warehouse.insert('spend_logs', after066.map(row));
  });
  after(async () => {
    redis?.disconnect();
    await warehouse?.client.close();
    await dropTestState(config);
  });

  it('holds every scope value of every day: the calls and their corrections, backfilled and viewed', async () => {
    assert.ok(before066.some((c) => c.correction) && after066.some((c) => c.correction));
    assert.ok(
      all.some((c) => !c.team) && all.some((c) => (c.tags?.length ?? 0) >= 2) && all.some((c) => !c.tags?.length),
    );
    const sums = z.object({
      day: z.string(),
      value: z.string(),
      cost: z.coerce.number(),
      requests: z.coerce.number(),
      errors: z.coerce.number(),
      tokens: z.coerce.number(),
    });
    for (const scope of SCOPES) {
      const stored = await warehouse.rows(
        sql`SELECT toString(day) AS day, value, sum(cost_nano) AS cost, sum(requests) AS requests,
              sum(errors) AS errors, sum(total_tokens) AS tokens
            FROM spend_scope_daily WHERE scope = ${scope} GROUP BY day, value`,
        sums,
      );
      const got = new Map(stored.map((r) => [`${Date.parse(`${r.day}T00:00:00Z`)}|${r.value}`, r]));
      const want = expected(all, scope);
      assert.equal(got.size, want.size, scope);
      for (const [id, w] of want) {
        const g = got.get(id);
        assert.ok(g, `${scope} ${id}`);
        assert.deepEqual(
          { cost: g.cost, requests: g.requests, errors: g.errors, tokens: g.tokens },
          { cost: w.cost, requests: w.requests, errors: w.errors, tokens: w.tokens },
          `${scope} ${id}`,
        );
      }
    }
    // And the same as the raw table, for the whole spend of each one-value-per-call scope.
    const raw = await warehouse.rows(
      sql`SELECT sum(cost_nano) AS cost FROM spend_logs`,
      z.object({ cost: z.coerce.number() }),
    );
    assert.equal(
      raw[0]?.cost,
      all.reduce((s, c) => s + costOf(c), 0),
    );
  });

  it('answers one-dimension questions of the query API exactly as raw does', async () => {
    const window = { from: new Date(BASE_MS).toISOString(), to: new Date(BASE_MS + DAYS * DAY).toISOString() };
    const metrics = ['cost', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens'] as const;
    const key1 = hashKey('sk-scope-1-0123456789');
    const questions: [string, Record<string, unknown>][] = [
      ['by key per day', { group_by: ['key'], granularity: 'day' }],
      ['by team (null team included)', { group_by: ['team'] }],
      ['by user per week', { group_by: ['user'], granularity: 'week' }],
      ['by customer, no customer excluded', { group_by: ['customer'], filters: { customer: { not_in: [null] } } }],
      ['by model per day', { group_by: ['model'], granularity: 'day' }],
      ['one key per day', { filters: { key: { in: [key1] } }, granularity: 'day' }],
      ['teams without a team', { filters: { team: { in: [null, 'team-1'] } }, granularity: 'day' }],
      ['total per day', { granularity: 'day' }],
    ];
    for (const [label, question] of questions) {
      const body = { ...window, ...question, metrics: [...metrics] };
      const rollup = await runReport(warehouse, body, {});
      const raw = await runReport(warehouse, { ...body, source: 'raw' }, {});
      assert.equal(rollup.source_table, 'spend_scope_daily', label);
      assert.equal(raw.source_table, 'spend_logs', label);
      assert.ok(raw.rows.length > 0, label);
      assert.deepEqual(rollup.rows, raw.rows, label);
      assert.deepEqual(rollup.totals, raw.totals, label);
    }
    // A key-scoped caller asking by model touches two dimensions: not this rollup.
    const keyed = await runReport(warehouse, { ...window, group_by: ['model'] }, { keyHash: key1 });
    assert.notEqual(keyed.source_table, 'spend_scope_daily');
  });

  it('gives the forecast its daily spend per key and per team', async () => {
    const nowMs = BASE_MS + (DAYS + 2) * DAY + 5 * HOUR_MS;
    for (const groupBy of ['key', 'team'] as const) {
      const scope: Scope = groupBy;
      const values = [...new Set(all.flatMap((c) => valuesOf(c, scope)))].filter(Boolean);
      const filters: Partial<Record<Dimension, { in: string[] }>> = { [groupBy]: { in: values } };
      const got = await dailySpend(warehouse, filters, 'UTC', nowMs, groupBy);
      const want = expected(all, scope);
      let points = 0;
      for (const [id, w] of want) {
        const [day = '', value = ''] = id.split('|');
        if (!value) continue;
        assert.equal(got.get(value)?.get(Number(day)), w.cost, `${groupBy} ${id}`);
        points++;
      }
      assert.equal(
        [...got.values()].reduce((n, days) => n + days.size, 0),
        points,
        groupBy,
      );
    }
  });

  it('gives the anomaly test its daily series (no empty value, a call under each of its tags)', async () => {
    const buckets = Array.from({ length: DAYS }, (_, d) => BASE_MS + d * DAY);
    for (const dimension of ANOMALY_DIMENSIONS) {
      const points = await spendPoints(warehouse, 'day', dimension, buckets);
      const want = [...expected(all, dimension)]
        .filter(([id]) => !id.endsWith('|'))
        .map(([id, w]) => `${id}|${w.cost}`)
        .sort();
      assert.deepEqual(points.map((p) => `${p.bucketMs}|${p.value}|${p.nano}`).sort(), want, dimension);
      const top = await spendPoints(warehouse, 'day', dimension, buckets.slice(-1), {
        costliest: 1,
        among: buckets.slice(-1),
      });
      assert.equal(top.length, 1, dimension);
      const costliest = want
        .filter((p) => p.startsWith(`${buckets.at(-1)}|`))
        .map((p) => Number(p.split('|')[2]))
        .sort((a, b) => b - a)[0];
      assert.equal(top[0]?.nano, costliest, dimension);
    }
  });
});
