// The worker's batch poller: asks the provider about every batch not settled yet and, once one has ended
// (completed, or expired / cancelled / failed with partial output), writes one SpendRecord per line of its
// output and error files, charges each to the budgets of the creating call, releases what is left of the
// reservation taken at creation, and marks the batch settled.
// Exactly once, whatever crashes when: records are queued in fixed chunks whose job ids derive from the
// batch (a chunk queued again is the same job, and `ingest`-origin batches are checked against ClickHouse
// by the worker before insert); budget charges and the release are settled per request id in the ledger
// (a second settle of the same id adds nothing); the batch is marked settled last.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { BudgetCharger } from '../budgets/charge.js';
import type { BudgetLedger } from '../budgets/ledger.js';
import { TimeSlicer } from '../ingest/timeSlice.js';
import type { SpendRecord } from '../spendRecord.js';
import { type BatchModel, lineRecord } from './records.js';
import type { BatchDoc, BatchStore } from './store.js';
import { type BatchTarget, type BatchUpstream, failedAnswer } from './upstream.js';
import { type BatchObject, batchObjectSchema, isTerminal, type ResultLine, resultLineSchema } from './wire.js';

/** Records per queued job (the ingest API's size: ~350 KB of rows). */
const CHUNK_RECORDS = 500;
/** Batches looked at per pass, oldest first. */
const BATCHES_PER_PASS = 200;
const LOCK_KEY = 'batches:poller:lock';
/** A pass renews its lock every third of this; a dead poller's lock frees the others within it. */
const LOCK_MS = 60_000;
// Deletes the lock only if we still hold it (compare-and-delete).
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
// Extends the lock only if we still hold it.
const RENEW_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

export interface BatchAccounts {
  /** The OpenAI account a file or batch lives in, by BatchTarget.id; null when no longer configured. */
  account(id: string): BatchTarget | null;
  /** The model a batch's lines ran on, for its price; null when no longer configured. */
  model(name: string): BatchModel | null;
}

export interface BatchPollerDeps {
  store: BatchStore;
  upstream: BatchUpstream;
  accounts: BatchAccounts;
  redis: Redis;
  enqueue(records: SpendRecord[], jobId: string): Promise<void>;
  /** Adds each record's cost to the live budget counters (idempotent per request id); null without budgets. */
  charge: BudgetCharger | null;
  ledger: BudgetLedger | null;
  log: FastifyBaseLogger;
}

const UNPRICED: BatchModel = { upstreamModel: '', pricing: { status: 'unpriced', at: () => null } };

export interface PollResult {
  checked: number;
  settled: string[];
}

export class BatchPoller {
  constructor(private readonly deps: BatchPollerDeps) {}

  /** One pass over the pending batches; null when another process holds the poller lock. */
  async pollOnce(): Promise<PollResult | null> {
    const { redis, store, log } = this.deps;
    const token = randomUUID();
    if ((await redis.set(LOCK_KEY, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return null;
    const result: PollResult = { checked: 0, settled: [] };
    const renewal = setInterval(
      () => void redis.eval(RENEW_LOCK, 1, LOCK_KEY, token, LOCK_MS).catch(() => {}),
      LOCK_MS / 3,
    );
    try {
      for (const doc of await store.pendingBatches(BATCHES_PER_PASS)) {
        result.checked++;
        try {
          if (await this.poll(doc)) result.settled.push(doc.id);
        } catch (err) {
          log.warn({ err, batchId: doc.id }, 'batch not settled yet; retried on the next pass');
        }
      }
    } finally {
      clearInterval(renewal);
      await redis.eval(RELEASE_LOCK, 1, LOCK_KEY, token);
    }
    return result;
  }

  private async poll(doc: BatchDoc): Promise<boolean> {
    const account = this.deps.accounts.account(doc.upstream_id);
    if (!account) {
      this.deps.log.warn({ batchId: doc.id }, 'batch account is no longer in model_list; batch left pending');
      return false;
    }
    const batch = await this.deps.upstream.json(account, 'GET', `/batches/${doc.id}`, batchObjectSchema);
    await this.deps.store.noteOutputs(doc, batch);
    if (isTerminal(batch)) {
      await this.settle(doc, batch, account);
      return true;
    }
    // Lists show a batch as of the last pass (retrieve asks OpenAI itself).
    if (batch.status !== doc.batch.status) await this.deps.store.putBatch({ ...doc, batch }, 'pending');
    return false;
  }

  private async settle(doc: BatchDoc, batch: BatchObject, account: BatchTarget): Promise<void> {
    const { deps } = this;
    const model = deps.accounts.model(doc.model) ?? UNPRICED;
    let records = 0;
    let costNano = 0;
    const files = [
      ['output', batch.output_file_id],
      ['error', batch.error_file_id],
    ] as const;
    const seen = new Set<string>();
    const slicer = new TimeSlicer();
    for (const [name, fileId] of files) {
      if (!fileId) continue;
      const lines = await this.readLines(account, fileId, doc.id, seen);
      for (let i = 0; i < lines.length; i += CHUNK_RECORDS) {
        const chunk: SpendRecord[] = [];
        for (const line of lines.slice(i, i + CHUNK_RECORDS)) {
          chunk.push(lineRecord(doc, batch, model, line));
          await slicer.slice();
        }
        await deps.enqueue(chunk, `batch-${doc.id}-${name}-${i / CHUNK_RECORDS}`);
        await deps.charge?.(chunk);
        records += chunk.length;
        for (const record of chunk) costNano += record.cost_nano;
      }
    }
    if (doc.reservation_id && deps.ledger) await releaseReservation(deps.ledger, doc.reservation_id);
    await deps.store.putBatch({ ...doc, batch, settled: { records, cost_nano: costNano } }, 'settled');
    deps.log.info({ batchId: doc.id, records, costNano }, 'batch settled');
  }

  /** A result file's lines; a line that is not a result (never seen from OpenAI) is logged and skipped. */
  private async readLines(
    account: BatchTarget,
    fileId: string,
    batchId: string,
    seen: Set<string>,
  ): Promise<ResultLine[]> {
    const answer = await this.deps.upstream.call(account, 'GET', `/files/${fileId}/content`);
    if (answer.status >= 400) throw failedAnswer(answer);
    const lines: ResultLine[] = [];
    const text = answer.body.toString('utf8');
    const slicer = new TimeSlicer();
    let skipped = 0;
    for (const raw of text.split('\n')) {
      await slicer.slice();
      if (!raw.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = null;
      }
      const line = resultLineSchema.safeParse(parsed);
      // One record per custom_id: a line repeated in a file (or in both files) is counted once.
      if (line.success && !seen.has(line.data.custom_id)) {
        seen.add(line.data.custom_id);
        lines.push(line.data);
      } else skipped++;
    }
    if (skipped)
      this.deps.log.warn({ batchId, fileId, skipped }, 'batch result lines skipped (unreadable or repeated)');
    return lines;
  }
}

/** Gives what is left of a batch's reservation back (once: a second release of the same id does nothing). */
export async function releaseReservation(ledger: BudgetLedger, reservationId: string): Promise<void> {
  await ledger.settle({ requestId: reservationId, nowMs: Date.now(), costNano: 0, tokens: 0, budgets: [], rates: [] });
}
