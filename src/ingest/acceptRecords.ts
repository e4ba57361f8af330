// The ingest core shared by POST /ingest/v1/records and `npm run import`: raw records → per-record results.
// Each record is normalised (SpendRecord or LiteLLM shape), validated with the worker's own schema, priced
// when it has no cost, claimed by request_id (a second copy is a duplicate) and queued before this
// resolves, so "accepted" means durable in Redis. One bad record never sinks the good ones.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { AppError } from '../errors.js';
import { type SpendRecord, storableRecord } from '../spendRecord.js';
import { claimRequestIds, existingRequestIds, releaseClaims } from './dedup.js';
import { toCandidate } from './ingestInput.js';
import type { IngestPricer } from './pricing.js';
import type { SpendProducer } from './producer.js';
import { insertableRecordSchema } from './rows.js';
import type { RecordScopeCheck } from './teamScope.js';
import { TimeSlicer } from './timeSlice.js';

/** A claim outlives any normal queue backlog; after it expires ClickHouse itself answers "duplicate". */
const CLAIM_TTL_SECONDS = 24 * 3600;
/**
 * Records per queued job (~350 KB of rows). Queuing a job (BullMQ serialises it, ioredis writes it) and
 * taking it off the queue in the worker are each one synchronous piece of work per job: at 2,000 records
 * those pieces were 10–30 ms each and piled up into 80–140 ms pauses; the worker's coalescer still
 * groups jobs into large inserts.
 */
const JOB_RECORDS = 500;
/**
 * Records per call of the budget charger. It resolves a record's scopes from the in-memory control cache
 * (promises that never wait for I/O), so one call over 40k records ran ~250 ms without giving up the loop.
 */
const CHARGE_RECORDS = 200;

export interface RecordResult {
  index: number;
  request_id: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  errors?: { field: string; reason: string }[];
}

export interface IngestOutcome {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: RecordResult[];
}

export interface IngestDeps {
  redis: Redis;
  warehouse: Warehouse;
  producer: SpendProducer;
  price: IngestPricer;
  storePrompts: boolean;
  warn(message: string): void;
  /** Adds accepted records to the live budget counters (absent where budgets are not enforced). */
  chargeBudgets?: (records: readonly SpendRecord[]) => Promise<void>;
  /** The caller is a team's ingest key: every record must stay inside its team (teamScope.ts). */
  scope?: RecordScopeCheck;
}

type Validated = { record: SpendRecord } | Omit<RecordResult, 'index'>;

/** One raw record → a valid, storable, priced SpendRecord, or its rejection with the fields at fault. */
async function validateRecord(raw: unknown, deps: IngestDeps): Promise<Validated> {
  const rejected = (field: string, reason: string) => ({
    request_id: null,
    status: 'rejected' as const,
    errors: [{ field, reason }],
  });
  if (raw instanceof SyntaxError) return rejected('(line)', `not JSON: ${raw.message}`);
  const candidate = toCandidate(raw);
  if (!candidate) return rejected('(record)', 'expected a JSON object');
  if (!deps.storePrompts) {
    delete candidate.record.messages;
    delete candidate.record.response;
  }
  const parsed = insertableRecordSchema.safeParse(candidate.record);
  if (!parsed.success) {
    const requestId = typeof candidate.record.request_id === 'string' ? candidate.record.request_id : null;
    const errors = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(record)', reason: i.message }));
    return { request_id: requestId, status: 'rejected', errors };
  }
  // As it will be stored (lone surrogates, control characters → U+FFFD): claims, budgets and the answer
  // all see the stored ids.
  const record = storableRecord(parsed.data);
  const violation = deps.scope ? await deps.scope(record) : null;
  if (violation) return { request_id: record.request_id, status: 'rejected', errors: [violation] };
  if (candidate.needsPricing) Object.assign(record, deps.price(record));
  return { record };
}

/** `raws` may hold SyntaxErrors for NDJSON lines that did not parse (rejected with field `(line)`). */
export async function acceptRecords(deps: IngestDeps, raws: readonly unknown[]): Promise<IngestOutcome> {
  const results: RecordResult[] = new Array(raws.length);
  const fresh: { index: number; record: SpendRecord }[] = [];
  const seen = new Set<string>();
  const slicer = new TimeSlicer();
  for (let index = 0; index < raws.length; index++) {
    const outcome = await validateRecord(raws[index], deps);
    if ('status' in outcome) results[index] = { index, ...outcome };
    else if (seen.has(outcome.record.request_id)) {
      results[index] = { index, request_id: outcome.record.request_id, status: 'duplicate' };
    } else {
      seen.add(outcome.record.request_id);
      fresh.push({ index, record: outcome.record });
    }
    await slicer.slice();
  }

  const accepted = new Set(
    await queueRecords(
      deps,
      fresh.map((f) => f.record),
      slicer,
    ),
  );
  for (const f of fresh) {
    const status = accepted.has(f.record.request_id) ? 'accepted' : 'duplicate';
    results[f.index] = { index: f.index, request_id: f.record.request_id, status };
  }
  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  for (const r of results) counts[r.status]++;
  return { ...counts, results };
}

/**
 * The second half of ingest, for records already valid and storable with distinct request_ids: claims
 * them, drops those ClickHouse already holds, queues the rest (durable in Redis when this resolves) and
 * charges them to budgets. Returns the request_ids accepted; the others are duplicates. Re-pricing
 * (src/reprice) queues its correction records through it. The queue's jobs are `<batchId>-<n>`, one per
 * JOB_RECORDS records (queueJobIds).
 */
export async function queueRecords(
  deps: Pick<IngestDeps, 'redis' | 'warehouse' | 'producer' | 'warn' | 'chargeBudgets'>,
  records: readonly SpendRecord[],
  slicer = new TimeSlicer(),
  batchId: string = randomUUID(),
): Promise<string[]> {
  const ids = records.map((r) => r.request_id);
  const claimed = await claimRequestIds(deps.redis, ids, batchId, CLAIM_TTL_SECONDS);
  const newlyClaimed = records.filter((_r, i) => claimed[i]);
  // Ids stored longer ago than a claim lives. If ClickHouse is down ingest still accepts: the worker
  // repeats this check on every ingest batch before inserting, so a re-sent record still counts once.
  const timed = newlyClaimed.map((r) => ({
    request_id: r.request_id,
    start_time: Math.floor(Date.parse(r.start_time) / 1000),
  }));
  const stored = await existingRequestIds(deps.warehouse, timed).catch((err: Error) => {
    deps.warn(`ingest: duplicate check against ClickHouse skipped (${err.message})`);
    return new Set<string>();
  });
  const accepted = newlyClaimed.filter((r) => !stored.has(r.request_id));
  for (let i = 0; i < accepted.length; i += JOB_RECORDS) {
    const chunk = accepted.slice(i, i + JOB_RECORDS);
    try {
      await deps.producer.enqueue(chunk, 'ingest', `${batchId}-${i / JOB_RECORDS}`);
    } catch (err) {
      // Nothing from this chunk on is queued: give the ids back so the caller's retry is not a "duplicate".
      const unqueued = accepted.slice(i).map((r) => r.request_id);
      await releaseClaims(deps.redis, unqueued).catch(() => {});
      throw new AppError('service_unavailable', 'the spend queue is unavailable; retry the request', { cause: err });
    }
  }
  if (deps.chargeBudgets) {
    for (let i = 0; i < accepted.length; i += CHARGE_RECORDS) {
      await deps.chargeBudgets(accepted.slice(i, i + CHARGE_RECORDS));
      await slicer.slice();
    }
  }
  return accepted.map((r) => r.request_id);
}

/** The ids of the queue jobs queueRecords made of `count` records under `batchId`. */
export function queueJobIds(batchId: string, count: number): string[] {
  return Array.from({ length: Math.ceil(count / JOB_RECORDS) }, (_, n) => `${batchId}-${n}`);
}
