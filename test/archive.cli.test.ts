// The `archive` CLI commands against a real ClickHouse and the local folder: export, verify (table and
// exit code), athena-ddl and query, with console output captured.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { archiveConfig, BASE, HOUR, insertRecords, record, recordsFor, runCli } from './archive.fixtures.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

describe('archive CLI', () => {
  let t: TestApp;
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'archive-cli-'));
    t = await startTestApp(
      archiveConfig({ archive: { local_path: root, interval: '1h', settle: '0s', formats: ['parquet'] } }),
    );
    await insertRecords(t.app, recordsFor(2, 25), BASE + 2 * HOUR);
  });

  after(async () => {
    await t?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('verify before any export: windows are missing, exit 1', async () => {
    const { code, out } = await runCli(t.config, ['verify']);
    assert.equal(code, 1);
    assert.match(out, /2026-01-05T10:00Z\s+25\s+0\s+\d+\s+0\s+missing/);
  });

  test('export --from --to, then verify: all ok, exit 0', async () => {
    const exported = await runCli(t.config, ['export', '--from', '2026-01-05', '--to', '2026-01-06']);
    assert.equal(exported.code, 0);
    assert.match(exported.out, /2 exported, 0 already current/);
    const again = await runCli(t.config, ['export', '--from', '2026-01-05', '--to', '2026-01-06']);
    assert.match(again.out, /0 exported, 2 already current/);
    const verified = await runCli(t.config, ['verify', '--from', '2026-01-05T00:00Z']);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /2 window\(s\) checked, all match/);
  });

  test('a late record shows as a mismatch until the window is exported again', async () => {
    await insertRecords(t.app, [record(777, BASE + 10)], Math.floor(Date.now() / 1000));
    const verified = await runCli(t.config, ['verify']);
    assert.equal(verified.code, 1);
    assert.match(verified.out, /2026-01-05T10:00Z\s+26\s+25\s+\d+\s+\d+\s+mismatch/);
    await runCli(t.config, ['export', '--from', '2026-01-05', '--to', '2026-01-06']);
    assert.equal((await runCli(t.config, ['verify'])).code, 0);
  });

  test('query runs SQL over the archive with dt/hour partition columns', async () => {
    const { code, out } = await runCli(t.config, [
      'query',
      'SELECT dt, hour, count(*) AS calls, sum(cost_nano) AS nano FROM spend_logs GROUP BY ALL ORDER BY hour',
    ]);
    assert.equal(code, 0, out);
    assert.match(out, /2026-01-05\s+10\s+26/);
    assert.match(out, /2026-01-05\s+11\s+25/);
    assert.match(out, /\(2 rows\)/);
  });

  test('athena-ddl prints a projected Parquet table', async () => {
    const { code, out } = await runCli(t.config, ['athena-ddl', '--database', 'spend']);
    assert.equal(code, 0);
    assert.match(out, /CREATE EXTERNAL TABLE IF NOT EXISTS spend\.spend_logs/);
    assert.match(out, /`cost_usd`\s+decimal\(18,9\)/);
    assert.match(out, /`tags`\s+array<string>/);
    assert.match(out, /PARTITIONED BY \(`dt` string, `hour` string\)/);
    assert.match(out, /STORED AS PARQUET/);
    assert.match(out, /'projection.enabled' = 'true'/);
  });

  test('unknown commands print the usage with exit 2', async () => {
    const { code, out } = await runCli(t.config, ['nope']);
    assert.equal(code, 2);
    assert.match(out, /usage: npm run archive/);
  });
});
