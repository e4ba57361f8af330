// The spend journal: where a proxied call's record becomes durable before the client sees the end of its
// answer (design in docs/ingest.md, "The spend journal"). The proxy appends each record's encoded lines to
// one Redis list (RPUSH, awaited, issued in the same tick as the budget settle so the two share a round
// trip); a mover in every producing process turns the head of that list into BullMQ jobs. A process killed
// at any point loses nothing: a record is in the list, in the staged batch, or in a job.
//
// Moving is crash-safe and safe with any number of movers: under a short lock, one script either returns
// the batch already staged (a mover died between queueing it and deleting it) or moves up to N lines from
// the list into a new staged batch with a fresh id; the mover queues it with jobId = that id and only then
// deletes it. A staged batch queued twice is one job while the job exists, and after that the worker's
// batch marker (dedup.ts) makes the second copy a non-first attempt, checked against ClickHouse.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { asError, sleep } from '../retry.js';
import type { SpendRecord } from '../spendRecord.js';
import type { SpendSink } from '../spendSink.js';
import type { DeadLetterStore } from './deadLetters.js';
import { retryDelayMs, SPEND_BATCH_JOB, type SpendBatch } from './queue.js';
import { BatchEncoder } from './rows.js';

/** One hash tag for every key: a Redis Cluster keeps them in one slot, so one script may touch them. */
export const journalKeys = {
  records: '{spend-journal}:records',
  staged: '{spend-journal}:staged',
  lock: '{spend-journal}:lock',
  /** Set with the append: a second append of the same request id (a resend) adds nothing. */
  appended: (requestId: string) => `{spend-journal}:appended:${requestId}`,
};

/**
 * How long an append is remembered. Longer than ioredis' resend of a command whose reply a dropped
 * connection lost, and than JournalSink's retries (RETRY_WINDOW_MS); short enough that the markers of
 * 1,000 calls/s hold ~12 MB of Redis.
 */
export const APPEND_MARKER_SECONDS = 120;

/**
 * KEYS: [1] journal list, [2] the record's append marker. ARGV: [1] the entry, [2] marker ttl s.
 * Returns the journal's length, or -1 when this request id was appended already (nothing added).
 */
const APPEND_ONCE = `
if not redis.call('set', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return -1 end
return redis.call('rpush', KEYS[1], ARGV[1])`;

/**
 * KEYS: [1] journal list, [2] staged batch (list: batch id, then entries), [3] mover lock.
 * ARGV: [1] lock token, [2] lock ttl ms, [3] new batch id, [4] most entries to move, [5] most bytes to move
 * (at least one entry goes whatever its size: with stored prompts an entry may be megabytes, and a batch of
 * thousands of them would pass what a job, a Node string or a Redis bulk reply can hold — and a staged batch
 * that can never be queued would stop every mover for good). Entries are read 100 at a time up to the caps.
 * Returns {} when there is nothing to move, {-1} when another mover holds the lock, else the staged batch
 * ({id, entry…}): the one left by an earlier mover if any, else a new one cut from the list's head.
 * The idle case (nothing anywhere) costs one call and takes no lock.
 */
const STAGE_BATCH = `
if redis.call('exists', KEYS[2]) == 0 and redis.call('llen', KEYS[1]) == 0 then return {} end
if not redis.call('set', KEYS[3], ARGV[1], 'PX', ARGV[2], 'NX') then return {-1} end
local staged = redis.call('lrange', KEYS[2], 0, -1)
if #staged > 0 then return staged end
local most, maxBytes = tonumber(ARGV[4]), tonumber(ARGV[5])
local entries, bytes, full = {}, 0, false
while not full and #entries < most do
  local chunk = redis.call('lrange', KEYS[1], #entries, math.min(#entries + 99, most - 1))
  if #chunk == 0 then break end
  for _, entry in ipairs(chunk) do
    if #entries > 0 and bytes + #entry > maxBytes then full = true break end
    entries[#entries + 1] = entry
    bytes = bytes + #entry
  end
end
if #entries == 0 then redis.call('del', KEYS[3]) return {} end
redis.call('ltrim', KEYS[1], #entries, -1)
redis.call('rpush', KEYS[2], ARGV[3])
for i = 1, #entries, 1000 do
  redis.call('rpush', KEYS[2], unpack(entries, i, math.min(i + 999, #entries)))
end
table.insert(entries, 1, ARGV[3])
return entries`;

/** Most bytes of entries one batch takes (see STAGE_BATCH): a job stays far below every size limit. */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/** KEYS: [1] staged batch, [2] lock; ARGV: [1] the queued batch id, [2] lock token. Compare-and-delete both. */
const UNSTAGE_BATCH = `
if redis.call('lindex', KEYS[1], 0) == ARGV[1] then redis.call('del', KEYS[1]) end
if redis.call('get', KEYS[2]) == ARGV[2] then redis.call('del', KEYS[2]) end
return 1`;

interface JournalCommands {
  spendJournalAppend(...args: (string | number)[]): Promise<number>;
  spendJournalStage(...args: (string | number)[]): Promise<(string | number)[]>;
  spendJournalUnstage(...args: (string | number)[]): Promise<number>;
}

/**
 * A journal entry: the spend_logs line, then (when the record stores text) a `\n` and the payload line.
 * A job's rows must have unique request_ids (the worker skips the ClickHouse check on a proxy batch's
 * first attempt); an entry can be in the list twice only as a byte-identical copy — ioredis resends a
 * command whose reply a dropped connection lost — so identical entries are kept once.
 */
export function splitEntries(entries: readonly string[]): { rows: string; payloads: string } {
  const rows: string[] = [];
  const payloads: string[] = [];
  for (const entry of new Set(entries)) {
    const cut = entry.indexOf('\n');
    if (cut === -1) rows.push(entry);
    else {
      rows.push(entry.slice(0, cut));
      payloads.push(entry.slice(cut + 1));
    }
  }
  return { rows: rows.join('\n'), payloads: payloads.join('\n') };
}

export class SpendJournal {
  private readonly redis: Redis & JournalCommands;

  constructor(
    redis: Redis,
    private readonly deadLetters: DeadLetterStore,
  ) {
    if (!('spendJournalStage' in redis)) {
      redis.defineCommand('spendJournalAppend', { lua: APPEND_ONCE });
      redis.defineCommand('spendJournalStage', { lua: STAGE_BATCH });
      redis.defineCommand('spendJournalUnstage', { lua: UNSTAGE_BATCH });
    }
    this.redis = redis as Redis & JournalCommands;
  }

  /**
   * Resolves once Redis holds the record (encoded as its ClickHouse rows), with the journal's length; -1
   * when the record's request id was appended already (a retry whose first attempt landed: nothing added).
   * A record the columns cannot hold is dead-lettered instead (length 0), as the producer does.
   */
  async append(record: SpendRecord): Promise<number> {
    const encoder = BatchEncoder.of([record]);
    if (encoder.rowCount === 1) {
      const rows = encoder.rows();
      const payloads = encoder.payloads();
      return this.redis.spendJournalAppend(
        2,
        journalKeys.records,
        journalKeys.appended(record.request_id),
        payloads ? `${rows}\n${payloads}` : rows,
        APPEND_MARKER_SECONDS,
      );
    }
    const letters = encoder.refused.map((r) => ({ stage: 'validation' as const, reason: r.reason, record: r.record }));
    await this.deadLetters.add(`journal:${record.request_id}`, 'proxy', letters);
    return 0;
  }

  /** Records waiting in the journal (not yet staged or queued). */
  async length(): Promise<number> {
    return this.redis.llen(journalKeys.records);
  }

  /** A staged batch: {id, entries}; 'locked' when another mover is at work; null when nothing waits. */
  async stage(
    token: string,
    lockMs: number,
    maxEntries: number,
    maxBytes: number = MAX_BATCH_BYTES,
  ): Promise<{ id: string; entries: string[] } | 'locked' | null> {
    const reply = await this.redis.spendJournalStage(
      3,
      journalKeys.records,
      journalKeys.staged,
      journalKeys.lock,
      token,
      lockMs,
      randomUUID(),
      maxEntries,
      maxBytes,
    );
    if (reply.length === 0) return null;
    if (reply[0] === -1) return 'locked';
    const [id, ...entries] = reply as string[];
    return { id: id as string, entries };
  }

  async unstage(batchId: string, token: string): Promise<void> {
    await this.redis.spendJournalUnstage(2, journalKeys.staged, journalKeys.lock, batchId, token);
  }
}

export interface JournalMoverOptions {
  /** Most records per job (ingest.batch_max_records). */
  maxBatchRecords: number;
  /** Longest a record appended here waits before it is moved (ingest.batch_max_ms). */
  intervalMs: number;
  /**
   * How often the journal is looked at when this process appended nothing: it picks up what a dead process
   * left (its entries, its staged batch) and what a failed round here did not move. Default: 2 s, or
   * intervalMs when that is longer.
   */
  sweepMs?: number;
  /** The mover lock: a mover that died holding it blocks the others this long at most. */
  lockMs?: number;
  onError?: (err: Error) => void;
}

const DEFAULT_LOCK_MS = 5_000;
const DEFAULT_SWEEP_MS = 2_000;

type MoveResult = 'moved-full' | 'moved' | 'locked' | 'empty';

/**
 * Moves journal entries into BullMQ jobs. Driven by appends: the first append after a round schedules the
 * next within `intervalMs` (a full batch is moved at once); an idle process only sweeps every `sweepMs`.
 */
export class JournalMover {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private running: Promise<MoveResult> | null = null;
  private stopped = true;

  constructor(
    private readonly journal: SpendJournal,
    private readonly queue: Pick<Queue, 'add'>,
    private readonly options: JournalMoverOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.scheduleIn(this.sweepMs());
  }

  private sweepMs(): number {
    return this.options.sweepMs ?? Math.max(DEFAULT_SWEEP_MS, this.options.intervalMs);
  }

  /** Arms the one timer to fire within `ms` (an earlier one stays). */
  private scheduleIn(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      void this.tick().then((last) => {
        // Another mover holds the lock or the round failed: entries may still wait.
        const pending = last === 'locked' || last === 'error';
        this.scheduleIn(pending ? this.options.intervalMs : this.sweepMs());
      });
    }, ms);
    this.timer.unref();
  }

  /** An append here left the journal this long: a full batch is moved now, anything else within intervalMs. */
  nudge(journalLength: number): void {
    if (journalLength >= this.options.maxBatchRecords) void this.tick();
    else this.scheduleIn(this.options.intervalMs);
  }

  /** One round (never two at once in this process): moves full batches until the journal is short of one. */
  tick(): Promise<MoveResult | 'error'> {
    this.running ??= this.moveWhileFull().finally(() => {
      this.running = null;
    });
    return this.running.catch((err: unknown) => {
      this.options.onError?.(asError(err));
      return 'error' as const;
    });
  }

  private async moveWhileFull(): Promise<MoveResult> {
    for (;;) {
      const moved = await this.moveOnce();
      if (moved !== 'moved-full') return moved;
    }
  }

  /**
   * Stages one batch, queues it and deletes the staged copy. 'moved-full' when the batch was full (more may
   * wait), 'moved' when it was not, 'locked' when another mover is at work, 'empty' when nothing waits.
   */
  async moveOnce(): Promise<MoveResult> {
    const token = randomUUID();
    const staged = await this.journal.stage(
      token,
      this.options.lockMs ?? DEFAULT_LOCK_MS,
      this.options.maxBatchRecords,
    );
    if (staged === null) return 'empty';
    if (staged === 'locked') return 'locked';
    try {
      const { rows, payloads } = splitEntries(staged.entries);
      const batch: SpendBatch = { batch_id: staged.id, origin: 'proxy', created_at: Date.now(), rows, payloads };
      await this.queue.add(SPEND_BATCH_JOB, batch, { jobId: staged.id });
    } catch (err) {
      // The batch stays staged for the next round; only the lock is given back (no batch has id '').
      await this.journal.unstage('', token).catch(() => {});
      throw err;
    }
    await this.journal.unstage(staged.id, token);
    const full =
      staged.entries.length >= this.options.maxBatchRecords ||
      staged.entries.reduce((bytes, entry) => bytes + entry.length, 0) >= MAX_BATCH_BYTES / 2;
    return full ? 'moved-full' : 'moved';
  }

  /**
   * Moves what it can before `deadline` (epoch ms). The journal is shared: what is left (another mover holds
   * the lock and is slow, Redis went away) is moved by the next round here or by any other process.
   */
  async drain(deadline: number): Promise<void> {
    await this.running?.catch(() => {});
    while (Date.now() < deadline) {
      let result: MoveResult;
      try {
        result = await this.moveOnce();
      } catch (err) {
        this.options.onError?.(asError(err));
        return;
      }
      if (result === 'empty') return;
      // Another process is moving: give it a moment rather than spinning on its lock.
      if (result === 'locked') await sleep(20);
    }
  }

  /** Shutdown: no more rounds, then everything this process can move before the deadline. */
  async close(deadline: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    await this.drain(deadline);
  }
}

/** How long flush() keeps moving the journal (a shutdown must not hang on a Redis outage). */
const FLUSH_MS = 5_000;
/** How long a failed append is retried (well inside APPEND_MARKER_SECONDS) before the in-memory fallback. */
export const RETRY_WINDOW_MS = 60_000;
const RETRY_MAX_DELAY_MS = 5_000;

/** Unref'd: a retry or a flush's wait never keeps a process alive on its own. */

/**
 * The proxy's sink: record() resolves once the record is in the journal. submit() is the same append
 * without waiting (bulk producers, tests). The append is idempotent per request id, so a failed one (Redis
 * unreachable, or a reply lost with a dropped connection while the append itself landed) is retried in the
 * background for up to RETRY_WINDOW_MS without risk of a second copy; only then does the record fall back to
 * the in-memory producer, which retries until Redis takes it. record() does not wait for those retries: the
 * answer is not held hostage by a Redis outage (the record is then as durable as the process).
 */
export class JournalSink implements SpendSink {
  private readonly inFlight = new Set<Promise<void>>();
  /** Records whose append is being retried; flush() hands what is left at its deadline to the fallback. */
  private readonly retrying = new Set<SpendRecord>();

  constructor(
    private readonly journal: SpendJournal,
    private readonly mover: JournalMover,
    private readonly fallback: SpendSink,
    private readonly retryWindowMs = RETRY_WINDOW_MS,
  ) {}

  async record(record: SpendRecord): Promise<void> {
    try {
      this.mover.nudge(await this.journal.append(record));
    } catch {
      this.track(this.retry(record));
    }
  }

  submit(record: SpendRecord): void {
    this.track(this.record(record));
  }

  private track(task: Promise<void>): void {
    const tracked = task.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async retry(record: SpendRecord): Promise<void> {
    this.retrying.add(record);
    const giveUp = Date.now() + this.retryWindowMs;
    for (let attempt = 0; Date.now() < giveUp; attempt++) {
      await sleep(Math.min(retryDelayMs(attempt + 1, RETRY_MAX_DELAY_MS), Math.max(0, giveUp - Date.now())), {
        unref: true,
      });
      if (!this.retrying.has(record)) return; // handed to the fallback by flush()
      try {
        const length = await this.journal.append(record);
        this.retrying.delete(record);
        this.mover.nudge(length);
        return;
      } catch {
        // Still unreachable: the next delay.
      }
    }
    if (this.retrying.delete(record)) this.fallback.submit(record);
  }

  /** Everything appended so far, and whatever else the journal holds, moved to the queue (until `deadline`). */
  async flush(deadline = Date.now() + FLUSH_MS): Promise<void> {
    while (this.inFlight.size && Date.now() < deadline) {
      await Promise.race([Promise.all([...this.inFlight]), sleep(Math.max(0, deadline - Date.now()), { unref: true })]);
    }
    // Shutting down with appends still failing: the in-memory producer takes them (as durable as the process).
    for (const record of this.retrying) {
      this.retrying.delete(record);
      this.fallback.submit(record);
    }
    await this.fallback.flush();
    await this.mover.drain(deadline);
  }
}
