// The planner's rule, without a database: which table answers which question, and why raw when raw.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choosePlan, type PlanInput } from '../src/query/planner.js';
import { ROLLUPS } from '../src/query/rollup.js';
import { parseTime, parseWindow } from '../src/query/time.js';

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 9, 5);
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  window: { fromMs: BASE, toMs: BASE + 30 * DAY },
  timezone: 'UTC',
  granularity: 'none',
  dimensions: [],
  metrics: ['cost', 'requests'],
  source: 'auto',
  ...over,
});
const table = (over: Partial<PlanInput>) => choosePlan(input(over), ROLLUPS).source.table;

describe('query planner', () => {
  it('answers questions about one key, team, user, customer or model alone over UTC days from spend_scope_daily', () => {
    const scope = (over: Partial<PlanInput>) => choosePlan(input(over), ROLLUPS).source.where;
    for (const d of ['key', 'team', 'user', 'customer', 'model'] as const) {
      assert.equal(table({ dimensions: [d], granularity: 'day' }), 'spend_scope_daily', d);
      assert.equal(scope({ dimensions: [d], granularity: 'month' }), `scope = '${d}'`, d);
    }
    // No dimension at all: the model rows, the fewest (every call is in exactly one of them).
    assert.equal(scope({ granularity: 'day' }), "scope = 'model'");
    assert.equal(scope({ metrics: ['cost', 'requests', 'errors', 'total_tokens'] }), "scope = 'model'");
    // Never for two dimensions, a tag, a metric it does not keep, hours or a zone other than UTC.
    assert.equal(table({ dimensions: ['key', 'team'] }), 'spend_key_daily');
    assert.equal(table({ dimensions: ['tag'] }), 'spend_team_tags_daily');
    assert.equal(table({ dimensions: ['key'], metrics: ['cost', 'unpriced_requests'] }), 'spend_key_daily');
    assert.equal(table({ dimensions: ['team'], metrics: ['avg_latency_ms'] }), 'spend_team_daily');
    assert.equal(table({ dimensions: ['team'], granularity: 'hour' }), 'spend_hourly_team');
    assert.equal(table({ dimensions: ['key'], granularity: 'day', timezone: 'Europe/Paris' }), 'spend_hourly');
  });

  it('answers team / model questions without tags over whole UTC days from spend_team_daily', () => {
    assert.equal(table({ dimensions: ['team', 'model'] }), 'spend_team_daily');
    assert.equal(table({ dimensions: ['model', 'call_type'], granularity: 'month' }), 'spend_team_daily');
  });

  it('answers tag questions by team or status over whole UTC days from spend_team_tags_daily', () => {
    assert.equal(table({ dimensions: ['team', 'tag'] }), 'spend_team_tags_daily');
    assert.equal(table({ dimensions: ['tag', 'status'], granularity: 'week' }), 'spend_team_tags_daily');
  });

  it('answers tag questions with model or provider over whole UTC days from spend_daily', () => {
    assert.equal(table({ dimensions: ['model', 'tag'], granularity: 'day' }), 'spend_daily');
    assert.equal(table({ dimensions: ['tag', 'status', 'provider'], granularity: 'month' }), 'spend_daily');
  });

  it('answers key / user / customer questions without tags from spend_key_daily', () => {
    assert.equal(table({ dimensions: ['key', 'model'], granularity: 'day' }), 'spend_key_daily');
    assert.equal(table({ dimensions: ['user', 'customer', 'call_type'] }), 'spend_key_daily');
  });

  it('uses spend_hourly_team for hours and whole-hour zones, spend_hourly when keys or users meet tags', () => {
    assert.equal(table({ dimensions: ['team', 'tag'], granularity: 'hour' }), 'spend_hourly_team');
    assert.equal(table({ dimensions: ['team'], granularity: 'day', timezone: 'Europe/Paris' }), 'spend_hourly_team');
    const hours = { fromMs: BASE + 3_600_000, toMs: BASE + 5 * 3_600_000 };
    assert.equal(table({ window: hours, dimensions: ['model'] }), 'spend_hourly_team');
    assert.equal(table({ dimensions: ['key', 'tag'] }), 'spend_hourly');
    assert.equal(table({ window: hours, dimensions: ['user'] }), 'spend_hourly');
  });

  it('falls back to raw with a reason', () => {
    const p95 = choosePlan(input({ metrics: ['p95_latency_ms'] }), ROLLUPS);
    assert.equal(p95.source.table, 'spend_logs');
    assert.match(p95.reason ?? '', /p95_latency_ms/);
    assert.equal(table({ window: { fromMs: BASE + 1000, toMs: BASE + DAY } }), 'spend_logs');
    assert.equal(table({ granularity: 'day', timezone: 'Asia/Kolkata' }), 'spend_logs');
    assert.equal(table({ source: 'raw' }), 'spend_logs');
    assert.equal(choosePlan(input(), []).reason, 'no rollup is installed');
    assert.throws(() => choosePlan(input({ metrics: ['p95_latency_ms'], source: 'rollup' }), ROLLUPS), /source=rollup/);
  });

  it('rounds relative windows to whole hours so they hit a rollup', () => {
    const now = BASE + 10 * DAY + 1234567;
    const w = parseWindow('-7d', 'now', 'UTC', now);
    assert.equal(w.fromMs % 3_600_000, 0);
    assert.equal(w.toMs % 3_600_000, 0);
    assert.ok(w.toMs >= now && w.toMs - now < 3_600_000);
    assert.equal(table({ window: w }), 'spend_hourly_team');
    assert.equal(parseTime('2026-10-05', 'from', 'Europe/Paris'), BASE - 2 * 3_600_000);
    assert.equal(parseTime('2026-10-05 12:30:00', 'from', 'UTC'), BASE + 12.5 * 3_600_000);
  });
});
