// Issue 16: no record — with or without a key — can stop the spend pipeline. Against real ClickHouse 18.16
// and Redis: lone surrogates through the proxy and the ingest API are stored as U+FFFD and the next call
// still lands; a row ClickHouse refuses for a reason not on the transient allow-list is dead-lettered and
// does not block the next batch (including jobs queued with poison by the previous version, which retried
// them forever); readiness stays 200 throughout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { isTransientFailure } from '../src/ingest/clickhouseFailures.js';
import { spendBatch } from '../src/ingest/producer.js';
import { SPEND_BATCH_JOB } from '../src/ingest/queue.js';
import { BatchEncoder } from '../src/ingest/rows.js';
import { type FakeUpstream, startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { storableName, storableRecord, storableText } from '../src/spendRecord.js';
import { proxyTestModels } from './helpers/fakeUpstreamProxy.js';
import { spendRecord, waitForQueueIdle, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const LONE = '\ud800';
const FFFD = '\uFFFD';

describe('storable text (no services)', () => {
  test('lone surrogates and control characters become U+FFFD; free text keeps tab, newline, CR', () => {
    assert.equal(storableName(`a${LONE}b\udc00`), `a${FFFD}b${FFFD}`);
    assert.equal(storableName('emoji 😀 stays'), 'emoji 😀 stays');
    assert.equal(
      storableName('nul\u0000 esc\u001b[31m del\u007f c1\u0085 rtl\u202e iso\u2066'),
      `nul${FFFD} esc${FFFD}[31m del${FFFD} c1${FFFD} rtl${FFFD} iso${FFFD}`,
    );
    assert.equal(storableName('tab\there'), `tab${FFFD}here`);
    assert.equal(storableText('line 1\r\n\tline 2 \u202eRTL'), 'line 1\r\n\tline 2 \u202eRTL');
    assert.equal(storableText(`nul\u0000 ${LONE}`), `nul${FFFD} ${FFFD}`);
    const clean = spendRecord('clean', 1);
    assert.equal(storableRecord(clean), clean, 'a clean record is not copied');
    const dirty = spendRecord('dirty', 1, {
      model: LONE,
      customer_id: `c${LONE}`,
      tags: [`t${LONE}`, 'ok'],
      metadata: { [`k${LONE}`]: `v${LONE}\nnext` },
      messages: `m${LONE}`,
    });
    const stored = storableRecord(dirty);
    assert.deepEqual(
      [stored.model, stored.customer_id, stored.tags, stored.metadata, stored.messages],
      [FFFD, `c${FFFD}`, [`t${FFFD}`, 'ok'], { [`k${FFFD}`]: `v${FFFD}\nnext` }, `m${FFFD}`],
    );
    assert.equal(dirty.model, LONE, 'the original is left as it was');
  });

  test('only allow-listed failures are transient', () => {
    const transient = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
      new Error('socket hang up'),
      new Error('Timeout error.'),
      new Error('Code: 252, e.displayText() = DB::Exception: Too many parts (300)'),
      new Error('Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded'),
      new Error('Code: 202, e.displayText() = DB::Exception: Too many simultaneous queries'),
      new Error("Code: 60, e.displayText() = DB::Exception: Table t.spend_logs doesn't exist."),
      new Error('Code: 279, e.displayText() = DB::Exception: All connection tries failed'),
      new Error('Code: 473, e.displayText() = DB::Exception: Locking attempt timed out! Possible deadlock avoided.'),
      new Error(
        'Code: 117, e.displayText() = DB::Exception: Unknown field found while parsing JSONEachRow format: tags_hash',
      ),
    ];
    const refusals = [
      new Error(
        'Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair',
      ),
      new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input'),
      new Error("Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero"),
      new Error('Code: 62, e.displayText() = DB::Exception: Syntax error'),
      // A truncated JSONEachRow row, as 18.16 answers it: these must never be waited out.
      new Error(
        'Code: 32, e.displayText() = DB::Exception: Attempt to read after eof: (while read the value of key b)',
      ),
      new Error('Code: 33, e.displayText() = DB::Exception: Unexpected end of stream while parsing JSONEachRow format'),
    ];
    for (const err of transient) assert.equal(isTransientFailure(err), true, err.message);
    for (const err of refusals) assert.equal(isTransientFailure(err), false, err.message);
  });
});

describe('poison never blocks the pipeline', () => {
  let t: TestApp;
  let fake: FakeUpstream;
  let origin: string;
  before(async () => {
    fake = await startFakeUpstream();
    t = await startTestApp(testConfig({ model_list: proxyTestModels(fake.url) }));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  const storedRow = z.object({
    request_id: z.string(),
    model: z.string(),
    customer_id: z.string(),
    tags: z.array(z.string()),
    metadata_values: z.array(z.string()),
    status: z.coerce.number(),
  });
  /** Waits for ClickHouse to hold a row matching `where` (the worker inserts moments after the call). */
  async function rowWhere(where: ReturnType<typeof sql>): Promise<z.infer<typeof storedRow>> {
    for (let i = 0; i < 600; i++) {
      const rows = await t.app.warehouse.rows(
        sql`SELECT request_id, model, customer_id, tags, metadata_values, status FROM spend_logs WHERE ${where}`,
        storedRow,
      );
      if (rows[0]) return rows[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('row never landed');
  }
  const chat = (body: unknown, key?: string) =>
    fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      // JSON.stringify writes a lone surrogate as the escape `\ud800`, as an attacker's client would.
      body: JSON.stringify(body),
    });
  async function assertReady(): Promise<void> {
    const ready = await t.app.inject({ method: 'GET', url: '/health/readiness' });
    assert.equal(ready.statusCode, 200, ready.body);
  }

  test('proxy, no key: the refused call with a lone surrogate model is recorded; the next call lands', async () => {
    const before = Date.now();
    const refused = await chat({ model: LONE, messages: [], user: `cust${LONE}` });
    assert.equal(refused.status, 401);
    const id = refused.headers.get('x-spend-request-id');
    const row = await rowWhere(
      id ? sql`request_id = ${id}` : sql`status = 401 AND start_time >= ${new Date(before - 1000)}`,
    );
    // Recorded as the proxy saw it: the model as U+FFFD (or empty when auth ran before the body was read).
    assert.ok([FFFD, ''].includes(row.model), JSON.stringify(row));
    const ok = await chat({ model: 'house-gpt', messages: [{ role: 'user', content: 'after' }] }, TEST_MASTER_KEY);
    assert.equal(ok.status, 200);
    assert.equal((await rowWhere(sql`request_id = ${ok.headers.get('x-spend-request-id') ?? ''}`)).status, 200);
    await assertReady();
  });

  test('proxy, with a key: customer, tags and metadata with lone surrogates are recorded as U+FFFD', async () => {
    const res = await chat(
      {
        model: 'house-gpt',
        messages: [{ role: 'user', content: `hi ${LONE}` }],
        user: `cust${LONE}`,
        tags: [`tag${LONE}`],
        metadata: { note: `v${LONE}` },
      },
      TEST_MASTER_KEY,
    );
    // The proxy may refuse such a call (its control-plane lookups refuse invalid Unicode); either way its
    // record must land, and the next call after it.
    const row = await rowWhere(sql`request_id = ${res.headers.get('x-spend-request-id') ?? ''}`);
    assert.equal(row.status, res.status);
    assert.equal(row.customer_id, `cust${FFFD}`);
    assert.deepEqual(row.tags, [`tag${FFFD}`]);
    assert.ok(row.metadata_values.includes(`v${FFFD}`), JSON.stringify(row.metadata_values));
    const ok = await chat({ model: 'house-gpt', messages: [{ role: 'user', content: 'after' }] }, TEST_MASTER_KEY);
    await rowWhere(sql`request_id = ${ok.headers.get('x-spend-request-id') ?? ''}`);
  });

  test('ingest API: lone surrogates in every text field are stored as U+FFFD; the answer names the stored id', async () => {
    const record = {
      request_id: `surrogate-ingest-${LONE}`,
      start_time: new Date().toISOString(),
      model: `m${LONE}`,
      customer_id: `c${LONE}`,
      tags: [`t${LONE}`],
      metadata: { k: `v${LONE}` },
      cost_usd: '0.000001',
    };
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify([record, { ...record, request_id: 'surrogate-ingest-next', model: 'gpt-4o' }]),
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { accepted: number; results: { request_id: string }[] };
    assert.equal(body.accepted, 2);
    assert.equal(body.results[0]?.request_id, `surrogate-ingest-${FFFD}`);
    const row = await rowWhere(sql`request_id = ${`surrogate-ingest-${FFFD}`}`);
    assert.deepEqual(
      [row.model, row.customer_id, row.tags, row.metadata_values],
      [`m${FFFD}`, `c${FFFD}`, [`t${FFFD}`], [`v${FFFD}`]],
    );
    await rowWhere(sql`request_id = 'surrogate-ingest-next'`);
  });

  /** A job exactly as the previous version queued it: its encoder wrote a lone surrogate as `\ud800`. */
  function oldPoisonJob(batchId: string, run: string) {
    const encoder = BatchEncoder.of([
      spendRecord(run, 0),
      spendRecord(run, 1, { model: 'POISON' }),
      spendRecord(run, 2),
    ]);
    const batch = spendBatch(encoder, 'proxy', batchId);
    return { ...batch, rows: batch.rows.replace('"model":"POISON"', '"model":"\\ud800"') };
  }

  test('a row ClickHouse refuses (Code 25, not on the allow-list) is dead-lettered as it was; the batch and the next land', async () => {
    const worker = t.app.spendWorker;
    assert.ok(worker);
    const before = await t.app.deadLetters.count();
    await worker.process({ id: 'old-poison-1', data: oldPoisonJob('old-poison-1', 'oldpoison') });
    assert.equal((await waitForRows(t.app.warehouse, 2, 'oldpoison-')).n, 2);
    const letters = await t.app.deadLetters.list(before, 10);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.stage, 'clickhouse');
    assert.match(letters[0]?.reason ?? '', /Code: 25/);
    assert.equal((letters[0]?.record as { model?: string } | undefined)?.model, LONE, 'the refused original is kept');
    assert.equal(worker.status.clickhouse_outage, null);
    await assertReady();
    // Replay sends it through today's encoder: it lands as U+FFFD.
    const replay = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/dead-letters/replay',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.ok((replay.json() as { replayed: number }).replayed >= 1, replay.body);
    assert.equal((await rowWhere(sql`request_id = 'oldpoison-1'`)).model, FFFD);
  });

  test('jobs stuck with poison from the old version drain through the running worker', async () => {
    const queue = t.app.spendProducer.queue;
    // Several at once, as the ~55 that filled every worker slot.
    for (let i = 0; i < 8; i++) {
      await queue.add(SPEND_BATCH_JOB, oldPoisonJob(`stuck-${i}`, `stuck${i}`), { jobId: `stuck-${i}` });
    }
    await waitForQueueIdle(queue);
    for (let i = 0; i < 8; i++) assert.equal((await waitForRows(t.app.warehouse, 2, `stuck${i}-`)).n, 2);
    const ok = await chat(
      { model: 'house-gpt', messages: [{ role: 'user', content: 'after stuck' }] },
      TEST_MASTER_KEY,
    );
    await rowWhere(sql`request_id = ${ok.headers.get('x-spend-request-id') ?? ''}`);
    await assertReady();
  });

  test('a line that is not even JSON (a corrupted job) is dead-lettered as its text', async () => {
    const worker = t.app.spendWorker;
    assert.ok(worker);
    const encoder = BatchEncoder.of([spendRecord('corrupt', 0)]);
    const batch = spendBatch(encoder, 'ingest', 'corrupt-job');
    const before = await t.app.deadLetters.count();
    await worker.process({ id: 'corrupt-job', data: { ...batch, rows: `${batch.rows}\n{"request_id": broken` } });
    assert.equal((await waitForRows(t.app.warehouse, 1, 'corrupt-')).n, 1);
    const letters = await t.app.deadLetters.list(before, 10);
    assert.equal(letters[0]?.record, '{"request_id": broken');
  });
});
