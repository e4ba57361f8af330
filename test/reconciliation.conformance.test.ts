// The reconciliation's SQL on both ClickHouse versions we live with (DESIGN.md): migration 065 and the
// importer's write / read of provider_costs (a re-import replacing a day, a dropped line item gone) and the
// daily rollup read, on ClickHouse 18.16 (the test server) and on ClickHouse 26.x in this process (chdb),
// with identical answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { migrate } from '../src/clickhouse/migrate.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';
import type { ProviderReport } from '../src/reconciliation/costReports.js';
import { readImportedCosts, readSpendhouseCosts, storeReport } from '../src/reconciliation/store.js';
import { createRedis } from '../src/redis/plugin.js';
import { openServerPair, type ServerPair } from './conformance/servers.js';

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

const report = (lines: ProviderReport['lines'], days: string[]): ProviderReport => ({
  provider: 'openai',
  days: new Set(days),
  lines,
  skipped: [],
});

async function scenario(warehouse: Warehouse) {
  await migrate(warehouse, redis);
  await storeReport(
    warehouse,
    report(
      [
        {
          day: '2026-12-05',
          lineItem: 'gpt-4o-2024-08-06, input',
          model: 'gpt-4o-2024-08-06',
          costNano: 1_200_000_000,
        },
        { day: '2026-12-05', lineItem: 'web search tool calls', model: '', costNano: 50_000_000 },
        {
          day: '2026-12-06',
          lineItem: 'gpt-4o-2024-08-06, input',
          model: 'gpt-4o-2024-08-06',
          costNano: 9_007_199_254_740_000,
        },
      ],
      ['2026-12-04', '2026-12-05', '2026-12-06'],
    ),
    new Date('2026-12-07T01:00:00Z'),
  );
  // The day re-imported: one line changed, one gone; 2026-12-06 untouched.
  await storeReport(
    warehouse,
    report(
      [
        {
          day: '2026-12-05',
          lineItem: 'gpt-4o-2024-08-06, input',
          model: 'gpt-4o-2024-08-06',
          costNano: 1_800_000_000,
        },
      ],
      ['2026-12-05'],
    ),
    new Date('2026-12-07T02:00:00Z'),
  );
  await warehouse.insert('spend_daily', [
    {
      day: '2026-12-05',
      team_id: 't',
      model: 'house-gpt',
      provider: 'openai',
      status_class: '2xx',
      tags: [],
      requests: 1,
      errors: 0,
      unpriced: 0,
      cost_nano: '700',
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      total_tokens: 0,
      duration_ms_sum: 0,
    },
    {
      day: '2026-12-05',
      team_id: 'u',
      model: 'house-gpt',
      provider: 'openai',
      status_class: '2xx',
      tags: ['a'],
      requests: 1,
      errors: 0,
      unpriced: 0,
      cost_nano: '300',
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      total_tokens: 0,
      duration_ms_sum: 0,
    },
    {
      day: '2026-12-05',
      team_id: 't',
      model: 'other',
      provider: 'mistral',
      status_class: '2xx',
      tags: [],
      requests: 1,
      errors: 0,
      unpriced: 0,
      cost_nano: '5',
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      total_tokens: 0,
      duration_ms_sum: 0,
    },
  ]);
  const imported = await readImportedCosts(warehouse, '2026-12-04', '2026-12-07');
  const spendhouse = await readSpendhouseCosts(warehouse, '2026-12-04', '2026-12-07', ['openai', 'anthropic']);
  return {
    lines: imported.lines.map((l) => [l.day, l.provider, l.lineItem, l.model, String(l.costNano), l.importedAt]).sort(),
    days: [...imported.days.entries()].sort(),
    spendhouse: spendhouse.map((s) => [s.day, s.provider, s.model, String(s.costNano)]),
  };
}

test('provider_costs: a re-import replaces the day, identically on ClickHouse 18.16 and current ClickHouse', async () => {
  const old = await scenario(pair.old.warehouse);
  const current = await scenario(pair.current.warehouse);
  const first = Date.parse('2026-12-07T01:00:00Z') / 1000;
  const second = Date.parse('2026-12-07T02:00:00Z') / 1000;
  assert.deepEqual(old, {
    lines: [
      ['2026-12-05', 'openai', 'gpt-4o-2024-08-06, input', 'gpt-4o-2024-08-06', '1800000000', second],
      ['2026-12-06', 'openai', 'gpt-4o-2024-08-06, input', 'gpt-4o-2024-08-06', '9007199254740000', first],
    ],
    days: [
      ['2026-12-04\u0000openai', first],
      ['2026-12-05\u0000openai', second],
      ['2026-12-06\u0000openai', first],
    ],
    spendhouse: [['2026-12-05', 'openai', 'house-gpt', '1000']],
  });
  assert.deepEqual(current, old);
});
