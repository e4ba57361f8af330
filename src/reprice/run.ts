// One re-pricing run (docs/repricing.md): walks the window an hour at a time, decides per call (plan.ts) and
// writes the corrections through the ingest path — claimed by request_id, checked against ClickHouse and
// queued like any ingested record (queueRecords), so the worker inserts each exactly once and the rollups,
// the query API and the archive see them like any late record. Budgets: each correction is charged to the
// live counters of the current period before it is queued (the ledger's settled marker makes a repeat a
// no-op; a counter loaded from ClickHouse meanwhile cannot hold the correction yet).
// Crash safety: every correction is noted in `reprice:pending` before it is queued, and a run starts by
// waiting until what an earlier run queued is in ClickHouse, so it always reads every correction written
// so far; a run ends the same way, so when it returns the totals agree everywhere.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withWindowLock } from '../archive/windowLock.js';
import type { BudgetCharger } from '../budgets/charge.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { queueJobIds, queueRecords } from '../ingest/acceptRecords.js';
import { existingRequestIds, releaseClaims, type TimedId } from '../ingest/dedup.js';
import type { SpendProducer } from '../ingest/producer.js';
import { insertableRecordSchema } from '../ingest/rows.js';
import { pollUntil } from '../retry.js';
import type { SpendRecord } from '../spendRecord.js';
import { DeltaTable, decide, type Repricer } from './plan.js';
import { type RepriceScope, readCalls, readCorrections } from './read.js';

const HOUR_MS = 3_600_000;
/** Corrections queued per step (one claim pipeline, one ClickHouse check, one budget pass). */
const WRITE_CHUNK = 1000;
const PENDING_KEY = 'reprice:pending';
const LOCK_KEY = 'reprice:lock';
/** The run lock's TTL, renewed while the run lives: a run killed mid-way blocks the next for this long at most. */
const LOCK_MS = 10_000;
const POLL_MS = 250;

export class RepriceError extends Error {}

export interface RepriceDeps {
  warehouse: Warehouse;
  redis: Redis;
  producer: SpendProducer;
  price: Repricer;
  /** Adds corrections to the live budget counters (absent where budgets are not enforced). */
  chargeBudgets?: BudgetCharger;
  warn(message: string): void;
}

export interface RepriceOptions extends RepriceScope {
  dryRun: boolean;
  /** How long to wait for queued corrections to reach ClickHouse (the worker inserts them). */
  waitMs: number;
  /** Called after each chunk of corrections is queued (tests stop a run there). */
  afterChunk?: (queued: number) => Promise<void> | void;
}

export interface RepriceReport {
  table: DeltaTable;
  /** Corrections queued by this run; `duplicates` were already written (a re-run after a crash). */
  written: number;
  duplicates: number;
}

/** Re-prices the scope; a dry run only reads. Throws RepriceError when another run holds the lock. */
export async function reprice(deps: RepriceDeps, options: RepriceOptions): Promise<RepriceReport> {
  if (options.dryRun) return scan(deps, options, null);
  const report = await withWindowLock(
    deps.redis,
    LOCK_KEY,
    async () => {
      await settlePending(deps, options.waitMs);
      const written = await scan(deps, options, (records) => writeCorrections(deps, records));
      await settlePending(deps, options.waitMs);
      return written;
    },
    LOCK_MS,
  );
  if (!report) throw new RepriceError('another reprice run holds the lock; try again once it has finished');
  return report;
}

type Writer = (records: SpendRecord[]) => Promise<number>;

async function scan(deps: RepriceDeps, options: RepriceOptions, write: Writer | null): Promise<RepriceReport> {
  const report: RepriceReport = { table: new DeltaTable(), written: 0, duplicates: 0 };
  for (let from = options.from.getTime(); from < options.to.getTime(); ) {
    const to = Math.min((Math.floor(from / HOUR_MS) + 1) * HOUR_MS, options.to.getTime());
    const [fromDate, toDate] = [new Date(from), new Date(to)];
    const calls = await readCalls(deps.warehouse, options, fromDate, toDate);
    if (calls.length) {
      const corrected = await readCorrections(deps.warehouse, options, fromDate, toDate);
      const records: SpendRecord[] = [];
      for (const call of calls) {
        const decision = decide(call, corrected.get(call.request_id), deps.price);
        report.table.add(call.model, decision);
        if (decision.kind === 'correction') records.push(decision.record);
      }
      for (let i = 0; write && i < records.length; i += WRITE_CHUNK) {
        const chunk = records.slice(i, i + WRITE_CHUNK);
        const queued = await write(chunk);
        report.written += queued;
        report.duplicates += chunk.length - queued;
        await options.afterChunk?.(report.written);
      }
    }
    from = to;
  }
  return report;
}

/** Notes, charges and queues corrections; returns how many were queued now (the rest were already). */
async function writeCorrections(deps: RepriceDeps, records: SpendRecord[]): Promise<number> {
  for (const record of records) {
    const checked = insertableRecordSchema.safeParse(record);
    if (!checked.success) {
      const why = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new RepriceError(`correction ${record.request_id} of ${record.corrects_request_id} is invalid: ${why}`);
    }
  }
  const batchId = randomUUID();
  const note = (r: SpendRecord) => `${Math.floor(Date.parse(r.start_time) / 1000)} ${batchId} ${records.length}`;
  await deps.redis.hset(PENDING_KEY, Object.fromEntries(records.map((r) => [r.request_id, note(r)])));
  await deps.chargeBudgets?.(records);
  const queued = await queueRecords({ ...deps, chargeBudgets: undefined }, records, undefined, batchId);
  return queued.length;
}

interface Pending extends TimedId {
  batchId: string;
  batchSize: number;
}

function parsePending([request_id, note]: [string, string]): Pending {
  const [at = '0', batchId = '', size = '0'] = note.split(' ');
  return { request_id, start_time: Number(at), batchId, batchSize: Number(size) };
}

/**
 * Waits until every correction noted as pending is in ClickHouse, then forgets it. One that is not, while
 * no queue job of its batch is left, never reached the queue (the run stopped between noting it and
 * queueing it) or was dead-lettered: its claim is given back and it is forgotten — the next scan makes the
 * same record again. ClickHouse is asked before the queue, so a job finishing in between is seen stored.
 */
async function settlePending(deps: RepriceDeps, waitMs: number): Promise<void> {
  let waiting = Object.entries(await deps.redis.hgetall(PENDING_KEY)).map(parsePending);
  const settle = async () => {
    const stored = await existingRequestIds(deps.warehouse, waiting);
    const missing = waiting.filter((w) => !stored.has(w.request_id));
    const live = new Set<string>();
    for (const batch of new Map(missing.map((w) => [w.batchId, w.batchSize]))) {
      const jobs = await Promise.all(queueJobIds(...batch).map((id) => deps.producer.queue.getJob(id)));
      if (jobs.some((job) => job !== undefined)) live.add(batch[0]);
    }
    const lost = missing.filter((w) => !live.has(w.batchId)).map((w) => w.request_id);
    await releaseClaims(deps.redis, lost);
    const done = [...lost, ...waiting.filter((w) => stored.has(w.request_id)).map((w) => w.request_id)];
    if (done.length) await deps.redis.hdel(PENDING_KEY, ...done);
    waiting = missing.filter((w) => live.has(w.batchId));
    return waiting.length === 0;
  };
  await pollUntil(settle, {
    everyMs: POLL_MS,
    timeoutMs: waitMs,
    timeoutError: () =>
      new RepriceError(
        `${waiting.length} queued correction(s) are not in ClickHouse after ${Math.round(waitMs / 1000)} s ` +
          '(is a worker running, role all or worker?); run reprice again once they are',
      ),
  });
}
