// Writes validated records into ClickHouse so that each request_id is stored once, whatever fails:
// - transient failures (ClickHouse down, slow, timeouts, too many parts) are waited out with capped backoff
//   for as long as it takes. A failed insert may still commit on the server, so before sending again the
//   writer waits until that insert (by query_id, in system.processes) is no longer running, re-checks which
//   rows landed and sends only the rest;
// - data errors (the table refuses a value) are isolated by bisection with the same wait-and-re-check
//   between steps: the good records go in, each refused record is returned with ClickHouse's reason.
// spend_logs inserts go through the InsertCoalescer (group commit with the other batches in hand), which
// records each insert's query_id under its batches for a later attempt to wait on. Rows are the queued
// JSONEachRow text (EncodedRows): lines are parsed only to look up, bisect or dead-letter them.
import { ClickHouseError } from '@clickhouse/client';
import { z } from 'zod';
import { joinSql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { SpendRecord } from '../spendRecord.js';
import { type InsertCoalescer, InsertError, insertRowText } from './coalescer.js';
import { existingRequestIds } from './dedup.js';
import { retryDelayMs } from './queue.js';
import type { EncodedRows } from './rows.js';

/** ClickHouse error codes that mean "this data", not "this server": CANNOT_PARSE_*, TYPE_MISMATCH, … */
const DATA_ERROR_CODES = new Set([6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 395, 469]);

/**
 * The server's error code. Current servers' errors parse into ClickHouseError; 18.16 writes
 * `Code: 395, e.displayText() = …`, which the client leaves as a plain Error with that message.
 */
export function clickhouseErrorCode(err: unknown): number | null {
  const cause = err instanceof InsertError ? err.original : err;
  if (cause instanceof ClickHouseError) return Number(cause.code);
  const match = cause instanceof Error ? /^Code: (\d+)[.,]/.exec(cause.message) : null;
  return match ? Number(match[1]) : null;
}

export function isDataError(err: unknown): err is Error {
  const code = clickhouseErrorCode(err);
  if (code === null) return false;
  // An unknown field means our rows are newer than the table (a migration not applied yet): wait for it.
  if (/unknown field/i.test((err as Error).message)) return false;
  return DATA_ERROR_CODES.has(code);
}

export interface Refused {
  record: SpendRecord;
  reason: string;
}

export interface WriterHooks {
  /** Called on each transient failure (outage reporting) and after each successful insert. */
  onOutage(err: Error): void;
  onRecovered(): void;
  /** True once the worker is shutting down: stop waiting, let the job be retried elsewhere. */
  isClosing(): boolean;
}

export class ClosingError extends Error {
  constructor() {
    super('worker is shutting down; the batch will be retried');
  }
}

const runningQueriesRow = z.object({ n: z.coerce.number() });

export class SpendWriter {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly coalescer: InsertCoalescer,
    private readonly hooks: WriterHooks,
    private readonly maxRetryDelayMs: number,
  ) {}

  private async backoff(attempt: number, err: Error): Promise<void> {
    this.hooks.onOutage(err);
    if (this.hooks.isClosing()) throw new ClosingError();
    await new Promise((r) => setTimeout(r, retryDelayMs(attempt, this.maxRetryDelayMs)));
    if (this.hooks.isClosing()) throw new ClosingError();
  }

  /** Runs `fn` until it succeeds or fails with a data error; every other failure is waited out. */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        this.hooks.onRecovered();
        return result;
      } catch (err) {
        if (isDataError(err)) throw err;
        await this.backoff(attempt, err as Error);
      }
    }
  }

  /** Blocks while any of these inserts still runs on the server (after it, its rows are final). */
  async waitForQueries(queryIds: readonly string[]): Promise<void> {
    if (queryIds.length === 0) return;
    for (;;) {
      const rows = await this.retrying(() =>
        this.warehouse.rows(
          sql`SELECT count() AS n FROM system.processes WHERE query_id IN (${joinSql(queryIds)})`,
          runningQueriesRow,
        ),
      );
      if ((rows[0]?.n ?? 0) === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async withoutExisting(rows: EncodedRows): Promise<EncodedRows> {
    if (rows.length === 0) return rows;
    const existing = await this.retrying(() => existingRequestIds(this.warehouse, rows.keys()));
    return rows.without(existing);
  }

  /**
   * Inserts rows (none of which spend_logs holds yet), after their payload rows, and returns the records
   * ClickHouse refused. Transient failures are retried forever; a data error (maybe another batch's, in a
   * shared insert) makes the batch go alone, then bisect.
   */
  async write(batchId: string, rows: EncodedRows, payloads = ''): Promise<Refused[]> {
    await this.writePayloads(payloads);
    const shared = await this.insertExactly(rows, (part) => this.coalescer.insert(batchId, part));
    if (!shared) return [];
    const alone = await this.insertExactly(shared.remaining, (part) => this.coalescer.insertAlone(batchId, part));
    return alone ? this.isolate(batchId, alone.remaining, alone.refusedBy) : [];
  }

  /**
   * Sends records until they are all stored, waiting out transient failures. After any failure it waits for
   * the failed insert to finish on the server and drops what did land, so nothing is sent twice. Returns
   * null when done, or the data error and the records still unstored.
   */
  private async insertExactly(
    rows: EncodedRows,
    send: (rows: EncodedRows) => Promise<void>,
  ): Promise<{ refusedBy: Error; remaining: EncodedRows } | null> {
    let pending = rows;
    for (let attempt = 1; pending.length; attempt++) {
      try {
        await send(pending);
        this.hooks.onRecovered();
        return null;
      } catch (err) {
        const failure = err as InsertError;
        const dataError = isDataError(failure);
        if (!dataError) await this.backoff(attempt, failure);
        await this.waitForQueries([failure.queryId]);
        pending = await this.withoutExisting(pending);
        if (dataError && pending.length) return { refusedBy: failure, remaining: pending };
      }
    }
    return null;
  }

  /** `rows` failed together with `err`: bisect with direct inserts until each refused row stands alone. */
  private async isolate(batchId: string, rows: EncodedRows, err: Error): Promise<Refused[]> {
    if (rows.length === 1) return [{ record: rows.record(0), reason: `ClickHouse: ${err.message}` }];
    const middle = Math.ceil(rows.length / 2);
    const refused: Refused[] = [];
    for (const half of [rows.slice(0, middle), rows.slice(middle)]) {
      const failed = await this.insertExactly(half, (part) => this.coalescer.insertAlone(batchId, part));
      if (failed) refused.push(...(await this.isolate(batchId, failed.remaining, failed.refusedBy)));
    }
    return refused;
  }

  /** Payloads go first into a ReplacingMergeTree: a repeat collapses, while a spend row must never repeat. */
  private async writePayloads(payloads: string): Promise<void> {
    if (payloads === '') return;
    await this.retrying(() => insertRowText(this.warehouse, 'spend_payloads', [payloads]));
  }
}
