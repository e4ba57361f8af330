// The spend journal's mover against real Redis, BullMQ and ClickHouse (src/ingest/spendJournal.ts): a mover
// killed between queueing a staged batch and deleting it leaves the batch staged; the next mover queues it
// again under the same id after the first job has completed and been removed, and the worker's batch
// marker makes that a checked (non-first) attempt: every record once. Movers racing — with a sane lock and
// with one that expires mid-move — neither drop nor duplicate a record.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Queue } from 'bullmq';
import { JournalMover, JournalSink, journalKeys, type SpendJournal, splitEntries } from '../src/ingest/spendJournal.js';
import { MemorySink } from '../src/spendSink.js';
import { spendRecord, spendTotals, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, type TestApp, testConfig } from './helpers/testApp.js';

let t: TestApp;
let journal: SpendJournal;
let queue: Queue;

before(async () => {
  // The app's own mover looks at the journal once an hour here: the movers under test do the moving.
  t = await startTestApp(testConfig({ ingest: { batch_max_ms: 3_600_000 } }));
  journal = t.app.spendJournal;
  queue = t.app.spendProducer.queue;
});
after(async () => {
  await t.close();
});

/** Polls the worker's counters: a batch being processed is the event waited on. */
async function batchesDone(n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((t.app.spendWorker?.status.batches_done ?? 0) < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} batches`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('journal mover', () => {
  test('killed between queueing and unstaging: the re-queued batch lands once', async () => {
    for (let i = 0; i < 20; i++) await journal.append(spendRecord('crash', i));
    // A mover whose add reached Redis, then "died" before it could delete the staged batch.
    const dying = new JournalMover(
      journal,
      {
        add: async (...args: Parameters<Queue['add']>) => {
          await queue.add(...args);
          throw new Error('killed after the add');
        },
      },
      { maxBatchRecords: 100, intervalMs: 3_600_000 },
    );
    await assert.rejects(dying.moveOnce(), /killed after the add/);
    await waitForRows(t.app.warehouse, 20, 'crash');
    await waitForQueueIdle(queue);
    await batchesDone(1);
    assert.equal(await t.app.redis.llen(journalKeys.staged), 21, 'the batch is still staged (id + 20 entries)');
    assert.equal((await queue.getJobCounts('completed')).completed, 0, 'the first job was removed');

    const skippedBefore = t.app.spendWorker?.status.duplicates_skipped ?? 0;
    const mover = new JournalMover(journal, queue, { maxBatchRecords: 100, intervalMs: 3_600_000 });
    assert.equal(await mover.moveOnce(), 'moved');
    assert.equal(await t.app.redis.exists(journalKeys.staged), 0);
    await batchesDone(2);
    assert.equal((t.app.spendWorker?.status.duplicates_skipped ?? 0) - skippedBefore, 20, 'checked, not inserted');
    const totals = await spendTotals(t.app.warehouse, 'crash');
    assert.equal(totals.n, 20);
    assert.equal(totals.distinct_ids, 20);
    assert.equal(await mover.moveOnce(), 'empty');
  });

  test('a batch takes at most its byte cap (at least one entry): big stored prompts never make an unqueueable batch', async () => {
    const big = 'x'.repeat(300_000);
    for (let i = 0; i < 5; i++) {
      await journal.append(spendRecord('bytes', i, { messages: big }));
    }
    const token = 'byte-cap-test';
    const sizes: number[] = [];
    for (;;) {
      // A cap below one entry still moves one; 700 KB holds two of these (~300 KB each, plus the row).
      const staged = await journal.stage(token, 5_000, 100, sizes.length === 0 ? 1 : 700_000);
      if (staged === null || staged === 'locked') break;
      sizes.push(staged.entries.length);
      await journal.unstage(staged.id, token);
    }
    assert.deepEqual(sizes, [1, 2, 2]);
    assert.equal(await journal.length(), 0);
  });

  for (const lockMs of [5_000, 1]) {
    test(`four movers racing (lock ${lockMs} ms): every record exactly once`, async () => {
      const run = `race${lockMs}`;
      const n = 1_000;
      await Promise.all(Array.from({ length: n }, (_, i) => journal.append(spendRecord(run, i))));
      const movers = Array.from(
        { length: 4 },
        () => new JournalMover(journal, queue, { maxBatchRecords: 37, intervalMs: 3_600_000, lockMs }),
      );
      const outcomes = new Map<string, number>();
      await Promise.all(
        movers.map(async (mover) => {
          for (;;) {
            const result = await mover.moveOnce();
            outcomes.set(result, (outcomes.get(result) ?? 0) + 1);
            if (result === 'empty') return;
            // Another mover holds the lock: let it work (the next turn of the loop, no timer).
            if (result === 'locked') await new Promise((r) => setImmediate(r));
          }
        }),
      );
      assert.ok((outcomes.get('moved-full') ?? 0) >= Math.floor(n / 37), JSON.stringify([...outcomes]));
      assert.equal(await journal.length(), 0);
      assert.equal(await t.app.redis.exists(journalKeys.staged), 0);
      const totals = await waitForRows(t.app.warehouse, n, run);
      await waitForQueueIdle(queue);
      assert.equal(totals.n, n);
      assert.equal(totals.distinct_ids, n);
      const after = await spendTotals(t.app.warehouse, run);
      assert.equal(after.n, n, 'no late duplicate');
    });
  }
});

test('a byte-identical entry (an RPUSH resent after a dropped connection) is queued once', () => {
  const row = '{"request_id":"a","response_id":"","start_time":1,"x":1}';
  const withPayload = `${'{"request_id":"b","response_id":"","start_time":1}'}\n{"request_id":"b","messages":"hi"}`;
  assert.deepEqual(splitEntries([row, withPayload, row, withPayload]), {
    rows: `${row}\n{"request_id":"b","response_id":"","start_time":1}`,
    payloads: '{"request_id":"b","messages":"hi"}',
  });
});

test('the mover is driven by appends: an idle process only sweeps, an append is moved within batch_max_ms', async (ctx) => {
  ctx.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let stages = 0;
  const fake = {
    stage: async () => {
      stages++;
      return null;
    },
    unstage: async () => {},
  } as unknown as SpendJournal;
  const mover = new JournalMover(fake, { add: async () => ({}) as never }, { maxBatchRecords: 100, intervalMs: 50 });
  const settle = async (ms: number) => {
    ctx.mock.timers.tick(ms);
    // The round's promise chain runs on microtasks after the timer fired.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  mover.start();
  await settle(1_999);
  assert.equal(stages, 0, 'idle: no look at the journal before the sweep');
  await settle(1);
  assert.equal(stages, 1, 'the sweep (2 s)');
  mover.nudge(1);
  await settle(49);
  assert.equal(stages, 1);
  await settle(1);
  assert.equal(stages, 2, 'an append is moved within intervalMs');
  mover.nudge(1);
  mover.nudge(2);
  await settle(50);
  assert.equal(stages, 3, 'appends in one interval share one round');
  mover.nudge(100);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(stages, 4, 'a full batch is moved at once');
  await mover.close(Date.now());
});

describe('idempotent appends: a retry never makes a second copy', () => {
  // Leaves the journal where it is, so the test can count its entries.
  const idleMover = { nudge: () => {}, drain: async () => {} } as unknown as JournalMover;
  test('the same request id appended twice is in the journal once', async () => {
    const before = await journal.length();
    const record = spendRecord('twice', 1);
    assert.equal(await journal.append(record), before + 1);
    assert.equal(await journal.append(record), -1, 'the second append adds nothing');
    assert.equal(await journal.length(), before + 1);
  });

  test('an append that landed but whose reply was lost is retried once more, without a duplicate', async () => {
    const before = await journal.length();
    let calls = 0;
    // The append reaches Redis, then the connection "drops" before the reply: the sink sees a failure.
    const lossy = Object.create(journal, {
      append: {
        value: async (record: Parameters<SpendJournal['append']>[0]) => {
          calls++;
          const length = await journal.append(record);
          if (calls === 1) throw new Error('connection lost after the command was sent');
          return length;
        },
      },
    }) as SpendJournal;
    const fallback = new MemorySink();
    const sink = new JournalSink(lossy, idleMover, fallback, 5_000);
    await sink.record(spendRecord('lost-reply', 1));
    await sink.flush(Date.now() + 10_000);
    assert.equal(calls, 2, 'retried once');
    assert.equal(await journal.length(), before + 1, 'one entry, not two');
    assert.equal(fallback.records.length, 0, 'nothing went to the unchecked in-memory path');
  });

  test('appends failing for the whole retry window go to the in-memory fallback, once', async () => {
    const failing = Object.create(journal, {
      append: {
        value: async () => {
          throw new Error('redis unreachable');
        },
      },
    }) as SpendJournal;
    const fallback = new MemorySink();
    const sink = new JournalSink(failing, idleMover, fallback, 300);
    await sink.record(spendRecord('unreachable', 1));
    assert.equal(fallback.records.length, 0, 'not yet: retried first');
    await sink.flush(Date.now() + 10_000);
    assert.deepEqual(
      fallback.records.map((r) => r.request_id),
      ['unreachable-1'],
    );
  });
});
