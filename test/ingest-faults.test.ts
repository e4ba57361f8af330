// Fault injection against real Redis + ClickHouse: the worker's ClickHouse goes away mid-stream for 30 s
// (a TCP proxy we stop and start — the shared server stays up), and a worker process is killed with
// SIGKILL while its inserts are committed but unacknowledged. Both end with the exact totals, no duplicates.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { createInsertWarehouse } from '../src/ingest/plugin.js';
import { SpendWorker } from '../src/ingest/worker.js';
import { expectedCost, spendRecord, spendTotals, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { TcpProxy } from './helpers/tcpProxy.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

const CLICKHOUSE_PORT = Number(new URL(process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123').port);
const OUTAGE_MS = Number(process.env.INGEST_OUTAGE_MS ?? 30_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ingest faults', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test(`ClickHouse unreachable for ${OUTAGE_MS / 1000}s mid-stream: same totals, zero duplicates, readiness reports it`, async () => {
    const proxy = await TcpProxy.open(CLICKHOUSE_PORT);
    const t: TestApp = await startTestApp(undefined, {
      ingestWorker: { clickhouseUrl: proxy.url, maxRetryDelayMs: 1000 },
    });
    cleanups.push(
      () => t.close(),
      () => proxy.stop(),
    );
    const { app } = t;
    let sent = 0;
    const sendChunk = async (n: number) => {
      for (let i = 0; i < n; i++) app.spendSink.submit(spendRecord('outage', sent++));
      await app.spendSink.flush();
    };
    for (let k = 0; k < 10; k++) await sendChunk(500);
    await proxy.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    // The stream goes on while ClickHouse is away: the queue holds it.
    for (let k = 0; k < 10; k++) {
      await sendChunk(500);
      await sleep(100);
    }
    let sawOutage = false;
    while (Date.now() < outageEnds) {
      const ready = await app.inject({ method: 'GET', url: '/health/readiness' });
      const body = ready.json() as { failed: string[] };
      if (ready.statusCode === 503 && body.failed.includes('ingest')) sawOutage = true;
      await sleep(500);
    }
    assert.ok(sawOutage, 'readiness reported the ClickHouse outage');
    assert.ok((await spendTotals(app.warehouse, 'outage-')).n < 10_000);
    await proxy.start();
    const totals = await waitForRows(app.warehouse, 10_000, 'outage-', 120_000);
    await waitForQueueIdle(app.spendProducer.queue);
    assert.deepEqual(await spendTotals(app.warehouse, 'outage-'), {
      n: 10_000,
      distinct_ids: 10_000,
      cost: expectedCost(10_000),
    });
    assert.equal(totals.distinct_ids, 10_000);
    assert.equal(app.spendWorker?.status.clickhouse_outage, null);
    assert.ok((app.spendWorker?.status.insert_failures ?? 0) > 0, 'failed insert attempts are counted');
    const ready = await app.inject({ method: 'GET', url: '/health/readiness' });
    assert.equal(ready.statusCode, 200);
  });

  test('kill -9 of a worker process whose inserts committed but were never acknowledged: same totals', async () => {
    const t: TestApp = await startTestApp(undefined, { ingestWorker: false });
    const proxy = await TcpProxy.open(CLICKHOUSE_PORT);
    cleanups.push(
      () => t.close(),
      () => proxy.stop(),
    );
    const { app, config } = t;
    proxy.holdResponses = true;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/ingestWorkerProcess.ts'], {
      env: { ...process.env, CLICKHOUSE_DATABASE: config.clickhouse.database, INSERT_URL: proxy.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
    });
    for (let b = 0; b < 10; b++) {
      const records = Array.from({ length: 1000 }, (_, i) => spendRecord('killed', b * 1000 + i));
      await app.spendProducer.enqueue(records, 'proxy', `killed-batch-${b}`);
    }
    // Rows are committed on the server while the worker still waits for the answers we hold back.
    const committed = await waitForRows(app.warehouse, 1000, 'killed-', 60_000);
    assert.ok(committed.n >= 1000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // A fresh worker takes over the batches the dead one held once their locks expire.
    const worker = new SpendWorker(
      {
        redisConfig: config.redis,
        redis: app.redis,
        warehouse: createInsertWarehouse(config.clickhouse),
        deadLetters: app.deadLetters,
        log: { warn: () => {}, info: () => {} },
      },
      { concurrency: 4, maxRetryDelayMs: 1000, lockDurationMs: 2000, batchLockMs: 3000 },
    );
    worker.start();
    cleanups.push(() => worker.close());
    await waitForRows(app.warehouse, 10_000, 'killed-', 120_000);
    await waitForQueueIdle(app.spendProducer.queue, 120_000);
    assert.deepEqual(await spendTotals(app.warehouse, 'killed-'), {
      n: 10_000,
      distinct_ids: 10_000,
      cost: expectedCost(10_000),
    });
    assert.ok(worker.status.duplicates_skipped >= 1000, `skipped ${worker.status.duplicates_skipped}`);
  });
});
