// `npm run import -- <files|dir>` against real Redis + ClickHouse: a folder of LiteLLM-style JSON / NDJSON
// (one gzipped) is backfilled once; importing it again is all duplicates; `npm run dlq` lists and replays.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runIngestCli } from '../src/ingest/cli.js';
import { spendTotals, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

function litellmPayload(i: number) {
  return {
    id: `imported-${i}`,
    call_type: 'acompletion',
    response_cost: 0.000001 * (i + 1),
    status: 'success',
    custom_llm_provider: 'openai',
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    startTime: 1764230400 + i,
    endTime: 1764230400.5 + i,
    model: 'gpt-4o-mini',
    metadata: { user_api_key_team_id: `team-${i % 2}` },
    request_tags: ['backfill'],
  };
}

describe('import CLI', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'spendhouse-import-'));
    mkdirSync(join(dir, 'day2'));
    writeFileSync(join(dir, 'day1.json'), JSON.stringify(Array.from({ length: 300 }, (_, i) => litellmPayload(i))));
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify(litellmPayload(300 + i))).join('\n');
    writeFileSync(join(dir, 'day2', 'part-0.ndjson.gz'), gzipSync(lines));
    writeFileSync(join(dir, 'notes.txt'), 'not spend data');
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  test('a folder is backfilled exactly once', async () => {
    assert.equal(await runIngestCli('import', [dir], t.config), 0);
    const totals = await waitForRows(t.app.warehouse, 500, 'imported-');
    assert.equal(totals.n, 500);
    // Sum of 1..500 micro-USD in nano-USD.
    assert.equal(totals.cost, ((500 * 501) / 2) * 1000);
    assert.equal(await runIngestCli('import', [dir], t.config), 0);
    assert.deepEqual(await spendTotals(t.app.warehouse, 'imported-'), { n: 500, distinct_ids: 500, cost: totals.cost });
  });

  test('the real command runs through npm scripts: dlq list', () => {
    const result = spawnSync(process.execPath, ['bin/spendhouse.mjs', 'dlq', 'list'], {
      env: {
        ...process.env,
        CLICKHOUSE_DATABASE: t.config.clickhouse.database,
        REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
        MASTER_KEY: t.config.masterKey,
      },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^0 dead letter\(s\)/m);
  });
});
