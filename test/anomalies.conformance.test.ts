// The anomaly series' SQL on both ClickHouse versions (DESIGN.md): every granularity × dimension read of
// the rollups (spend_scope_daily per day) — with the ARRAY JOIN of tags, the bucket lists, the series
// narrowing and the top-N — answers identically on ClickHouse 18.16 and on ClickHouse 26.x in this process
// (chdb). Both migrate first, so the scope rollup's view is created on both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { ANOMALY_DIMENSIONS, ANOMALY_GRANULARITIES } from '../src/anomalies/series.js';
import { migrate } from '../src/clickhouse/migrate.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';
import { createRedis } from '../src/redis/plugin.js';
import { openServerPair, type ServerPair } from './conformance/servers.js';
import { spendPoints } from './helpers/anomalyPoints.js';

let pair: ServerPair;
let redis: Redis;
before(async () => {
  pair = await openServerPair();
  redis = createRedis(pair.config.redis);
});
after(async () => {
  redis?.disconnect();
  await pair?.close();
});

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const hourText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

async function fill(warehouse: Warehouse) {
  await migrate(warehouse, redis);
  const scopeDaily = [];
  const hourly = [];
  const hourlyTeam = [];
  for (let d = 0; d < 10; d++) {
    for (const [team, tags] of [
      ['a', ['x', 'y']],
      ['b', ['y']],
      ['', []],
    ] as const) {
      const cost = String((d + 1) * 1000 + team.length);
      // The day's rows of spend_scope_daily for these calls: one per scope, one per tag ('' for none).
      const day = dayText(T0 + d * DAY);
      for (const [scope, value] of [
        ['team', team],
        ['key', `k-${team}`],
        ['model', `m-${team}`],
        ...(tags.length ? tags.map((tag) => ['tag', tag]) : [['tag', '']]),
      ]) {
        scopeDaily.push({ day, scope, value, cost_nano: cost });
      }
      const hour = T0 + d * DAY + 9 * HOUR;
      // DateTime as text is read in the server's zone: both sides run in UTC here (conformance/servers.ts).
      hourly.push({
        hour: Math.floor(hour / 1000),
        team_id: team,
        key_hash: `k-${team}`,
        model: `m-${team}`,
        tags,
        cost_nano: cost,
      });
      hourlyTeam.push({ hour: Math.floor(hour / 1000), team_id: team, model: `m-${team}`, tags, cost_nano: cost });
    }
  }
  await warehouse.insert('spend_scope_daily', scopeDaily);
  await warehouse.insert('spend_hourly', hourly);
  await warehouse.insert('spend_hourly_team', hourlyTeam);
}

async function answers(warehouse: Warehouse) {
  const out: Record<string, unknown> = {};
  for (const granularity of ANOMALY_GRANULARITIES) {
    const buckets = Array.from({ length: 10 }, (_, d) => T0 + d * DAY + (granularity === 'hour' ? 9 * HOUR : 0));
    for (const dimension of ANOMALY_DIMENSIONS) {
      const sortPoints = (points: { bucketMs: number; value: string; nano: number }[]) =>
        points.map((p) => `${p.bucketMs}|${p.value}|${p.nano}`).sort();
      out[`${granularity}:${dimension}:all`] = sortPoints(
        await spendPoints(warehouse, granularity, dimension, buckets),
      );
      out[`${granularity}:${dimension}:top`] = sortPoints(
        await spendPoints(warehouse, granularity, dimension, buckets.slice(-1), {
          costliest: 1,
          among: buckets.slice(-1),
        }),
      );
      // The series of the two costliest points of the last three buckets, over the first three buckets.
      out[`${granularity}:${dimension}:narrow`] = sortPoints(
        await spendPoints(warehouse, granularity, dimension, buckets.slice(0, 3), {
          costliest: 2,
          among: buckets.slice(-3),
        }),
      );
    }
  }
  return out;
}

test('anomaly series read the rollups identically on ClickHouse 18.16 and current ClickHouse', async () => {
  await fill(pair.old.warehouse);
  await fill(pair.current.warehouse);
  const old = await answers(pair.old.warehouse);
  const current = await answers(pair.current.warehouse);
  assert.deepEqual(current, old);
  // Spot checks: the empty team is no series, a tag counts each call carrying it, top keeps the costliest.
  assert.equal((old['day:team:all'] as string[]).length, 20);
  assert.deepEqual(old['day:tag:top'], [`${T0 + 9 * DAY}|y|20002`]);
  assert.deepEqual(old['day:key:top'], [`${T0 + 9 * DAY}|k-a|10001`]);
  // The two costliest team-hours of the last three: teams a and b tie on the last day (10,001 each), so
  // both series come back over the first three hours; of the tags, y's last two days are the costliest.
  assert.deepEqual(
    old['hour:team:narrow'],
    [0, 1, 2]
      .flatMap((d) => ['a', 'b'].map((team) => `${T0 + d * DAY + 9 * HOUR}|${team}|${(d + 1) * 1000 + 1}`))
      .sort(),
  );
  assert.deepEqual(
    old['day:tag:narrow'],
    [0, 1, 2].map((d) => `${T0 + d * DAY}|y|${2 * ((d + 1) * 1000 + 1)}`),
  );
  assert.equal(hourText(T0), '2026-11-01 00:00:00');
});
