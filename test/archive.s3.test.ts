// The archive against a real S3-protocol server (s3rver on loopback, random port, temp dir), configured the
// LiteLLM way (callbacks: ["s3"] + s3_callback_params). Objects are downloaded and read back with DuckDB.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { exportRange } from '../src/archive/exporter.js';
import type { ArchiveStore } from '../src/archive/store.js';
import {
  archiveConfig,
  BASE,
  clickhouseTotals,
  duckTotals,
  HOUR,
  insertRecords,
  record,
  recordsFor,
  runCli,
  startS3rver,
} from './archive.fixtures.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

const BUCKET = 'spend-archive';
const PREFIX = 'teams/archive';

async function download(store: ArchiveStore, into: string): Promise<void> {
  await rm(into, { recursive: true, force: true });
  for (const key of await store.list(`${PREFIX}/`)) {
    const body = await store.get(key);
    assert.ok(body, key);
    const path = join(into, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
  }
}

async function assertTotalsMatch(t: TestApp, store: ArchiveStore, work: string): Promise<void> {
  await download(store, join(work, 'copy'));
  const expected = await clickhouseTotals(t.app);
  for (const format of ['parquet', 'jsonl'] as const) {
    const got = await duckTotals(join(work, 'copy', PREFIX), format);
    assert.deepEqual([...got.keys()], [...expected.keys()], format);
    for (const [w, want] of expected) {
      assert.equal(got.get(w)?.rows, want.rows, `${format} rows of ${w}`);
      assert.equal(got.get(w)?.costNano, want.costNano, `${format} cost_nano of ${w}`);
      assert.equal(got.get(w)?.costUsdNano, want.costNano, `${format} cost_usd of ${w}`);
    }
  }
}

describe('archive to S3 (s3rver)', () => {
  let t: TestApp;
  let work: string;
  let s3: { port: number; close(): Promise<void> };
  let client: S3Client;

  async function etags(): Promise<Map<string, string>> {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }));
    return new Map((page.Contents ?? []).map((o) => [o.Key ?? '', o.ETag ?? '']));
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'archive-s3-'));
    s3 = await startS3rver(join(work, 's3'), BUCKET);
    const endpoint = `http://127.0.0.1:${s3.port}`;
    t = await startTestApp(
      archiveConfig({
        litellm_settings: {
          callbacks: ['s3'],
          s3_callback_params: {
            s3_bucket_name: BUCKET,
            s3_region_name: 'us-east-1',
            s3_endpoint_url: endpoint,
            s3_path: PREFIX,
            s3_aws_access_key_id: 'S3RVER',
            s3_aws_secret_access_key: 'S3RVER',
          },
        },
        archive: { interval: '1h', settle: '0s' },
      }),
    );
    client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await insertRecords(t.app, recordsFor(3, 30), BASE + 3 * HOUR + 60);
  });

  after(async () => {
    client?.destroy();
    await t?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('export of 3 windows: DuckDB totals over the downloaded objects equal ClickHouse', async () => {
    assert.equal(t.app.archive.context.destination, `s3://${BUCKET}/${PREFIX}`);
    const results = await exportRange(t.app.archive.context, BASE, BASE + 3 * HOUR);
    assert.deepEqual(
      results.map((r) => r.outcome),
      ['exported', 'exported', 'exported'],
    );
    const keys = [...(await etags()).keys()];
    assert.equal(keys.length, 6);
    assert.ok(keys.includes(`${PREFIX}/spend_logs/dt=2026-01-05/hour=11/part-20260105T1100Z.parquet`));
    await assertTotalsMatch(t, t.app.archive.context.store, work);
  });

  test('re-export changes nothing: same keys, same ETags', async () => {
    const before = await etags();
    const results = await exportRange(t.app.archive.context, BASE, BASE + 3 * HOUR, { force: true });
    assert.equal(results.length, 3);
    assert.deepEqual(await etags(), before);
    const pass = await t.app.archive.scheduler.runOnce();
    assert.equal(pass.candidates, 0);
  });

  test('a late record triggers a re-export and totals match again', async () => {
    const before = await etags();
    await insertRecords(t.app, [record(5_000, BASE + 2 * HOUR + 99, { cost_nano: 7 })], Math.floor(Date.now() / 1000));
    const pass = await t.app.archive.scheduler.runOnce();
    assert.deepEqual(
      pass.results.map((r) => [r.windowStart, r.outcome]),
      [[BASE + 2 * HOUR, 'exported']],
    );
    const after = await etags();
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
    assert.deepEqual(changed.sort(), [
      `${PREFIX}/spend_logs/dt=2026-01-05/hour=12/part-20260105T1200Z.parquet`,
      `${PREFIX}/spend_logs_jsonl/dt=2026-01-05/hour=12/part-20260105T1200Z.jsonl.gz`,
    ]);
    await assertTotalsMatch(t, t.app.archive.context.store, work);
  });

  test('verify and query read the S3 objects back (downloaded to a temp folder)', async () => {
    const verified = await runCli(t.config, ['verify']);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /3 window\(s\) checked, all match/);
    const queried = await runCli(t.config, [
      'query',
      'SELECT hour, count(*) AS calls FROM spend_logs GROUP BY ALL ORDER BY hour',
      '--from',
      '2026-01-05T11:00Z',
      '--to',
      '2026-01-05T13:00Z',
    ]);
    assert.equal(queried.code, 0, queried.out);
    assert.match(queried.out, /11\s+30\n\s*12\s+31\n\(2 rows\)/);
  });

  test('S3 down then up: the pass retries with backoff, readiness shows it, the window lands', async () => {
    await s3.close();
    const fourth = Array.from({ length: 10 }, (_, j) => record(8_000 + j, BASE + 3 * HOUR + j * 60));
    await insertRecords(t.app, fourth, Math.floor(Date.now() / 1000));
    const ctx = t.app.archive.context;
    ctx.backoff = { ...ctx.backoff, attempts: 40, baseMs: 100, maxMs: 400 };
    const pass = t.app.archive.scheduler.runOnce();
    await waitFor(() => t.app.archive.scheduler.status.lastError !== null);
    const ready = await t.app.inject({ method: 'GET', url: '/health/readiness' });
    const archive = ready.json().dependencies.archive as { ok: boolean; detail: string };
    assert.match(archive.detail, /archive store/);
    const metrics = await Promise.all(t.app.archiveMetrics.map((m) => m.get()));
    const failing = metrics.find((m) => m.name === 'spendhouse_archive_failing');
    assert.equal(failing?.values[0]?.value, 1);
    s3 = await startS3rver(join(work, 's3'), BUCKET, s3.port);
    const result = await pass;
    assert.deepEqual(
      result.results.map((r) => [r.windowStart, r.outcome, r.rows]),
      [[BASE + 3 * HOUR, 'exported', 10]],
    );
    assert.equal(t.app.archive.scheduler.status.lastError, null);
    await assertTotalsMatch(t, t.app.archive.context.store, work);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
