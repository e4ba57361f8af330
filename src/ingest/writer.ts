// Writes validated records into ClickHouse so that each request_id is stored once, whatever fails:
// - transient failures (clickhouseFailures.ts: an allow-list — network, timeouts, overload, too many parts,
//   memory, a table not there yet) are waited out with capped backoff for as long as it takes. A failed
//   insert may still commit on the server, so before sending again the writer waits until that insert (by
//   query_id, in system.processes) is no longer running, re-checks which rows landed and sends only the rest;
// - every other refusal is blamed on the rows: they are isolated by bisection with the same wait-and-re-check
//   between steps; the good records go in, each refused record is returned with ClickHouse's reason.
// spend_logs inserts go through the InsertCoalescer (group commit with the other batches in hand), which
// records each insert's query_id under its batches for a later attempt to wait on. Rows are the queued
// JSONEachRow text (EncodedRows): lines are parsed only to look up, bisect or dead-letter them.
import { z } from 'zod';
import { joinSql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { asError, pollUntil, sleep } from '../retry.js';
import { isRefusal } from './clickhouseFailures.js';
import { type InsertCoalescer, InsertError, insertRowText } from './coalescer.js';
import { existingRequestIds } from './dedup.js';
import { retryDelayMs } from './queue.js';
import type { EncodedRows } from './rows.js';

/**
 * Bytes of spend_payloads text per insert. Prompts are the big rows (a batch of long conversations can be
 * gigabytes): bounded inserts keep a refusal for memory from being a property of the batch, not the server.
 */
const PAYLOAD_INSERT_BYTES = 16 * 1024 * 1024;

export interface Refused {
  /** The SpendRecord (or spend_payloads row) as queued; a queued line that is not JSON stays its text. */
  record: unknown;
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
    await sleep(retryDelayMs(attempt, this.maxRetryDelayMs));
    if (this.hooks.isClosing()) throw new ClosingError();
  }

  /** Runs `fn` until it succeeds or is refused (not on the transient allow-list); transient failures are waited out. */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        this.hooks.onRecovered();
        return result;
      } catch (err) {
        if (isRefusal(err)) throw err;
        await this.backoff(attempt, asError(err));
      }
    }
  }

  /** Blocks while any of these inserts still runs on the server (after it, its rows are final). */
  async waitForQueries(queryIds: readonly string[]): Promise<void> {
    if (queryIds.length === 0) return;
    const running = sql`SELECT count() AS n FROM system.processes WHERE query_id IN (${joinSql(queryIds)})`;
    await pollUntil(
      async () => ((await this.retrying(() => this.warehouse.rows(running, runningQueriesRow)))[0]?.n ?? 0) === 0,
      { everyMs: 200 },
    );
  }

  async withoutExisting(rows: EncodedRows): Promise<EncodedRows> {
    if (rows.length === 0) return rows;
    const existing = await this.retrying(() => existingRequestIds(this.warehouse, rows.keys()));
    return rows.without(existing);
  }

  /**
   * Inserts rows (none of which spend_logs holds yet), after their payload rows, and returns the records
   * ClickHouse refused (spend_payloads rows among them, if any). Transient failures are retried forever; a
   * refusal (maybe of another batch's rows, in a shared insert) makes the batch go alone, then bisect.
   */
  async write(batchId: string, rows: EncodedRows, payloads = ''): Promise<Refused[]> {
    const refusedPayloads = await this.writePayloads(payloads);
    const shared = await this.insertExactly(rows, (part) => this.coalescer.insert(batchId, part));
    if (!shared) return refusedPayloads;
    const alone = await this.insertExactly(shared.remaining, (part) => this.coalescer.insertAlone(batchId, part));
    return alone
      ? [...refusedPayloads, ...(await this.isolate(batchId, alone.remaining, alone.refusedBy))]
      : refusedPayloads;
  }

  /**
   * Sends records until they are all stored, waiting out transient failures. After any failure it waits for
   * the failed insert to finish on the server and drops what did land, so nothing is sent twice. Returns
   * null when done, or the refusal and the records still unstored.
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
        const failure = asError(err);
        const refused = isRefusal(failure);
        if (!refused) await this.backoff(attempt, failure);
        // An insert that failed under a query_id may still be running on the server: wait it out.
        await this.waitForQueries(failure instanceof InsertError ? [failure.queryId] : []);
        pending = await this.withoutExisting(pending);
        if (refused && pending.length) return { refusedBy: failure, remaining: pending };
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

  /**
   * Payloads go first into a ReplacingMergeTree: a repeat collapses, while a spend row must never repeat —
   * so a payload insert is simply sent again (no wait-and-re-check), in parts of at most
   * PAYLOAD_INSERT_BYTES, and a refused part is bisected like spend rows. Returns the refused payload rows.
   */
  private async writePayloads(payloads: string): Promise<Refused[]> {
    if (payloads === '') return [];
    const refused: Refused[] = [];
    for (const part of payloadParts(payloads.split('\n'))) refused.push(...(await this.insertPayloads(part)));
    return refused;
  }

  private async insertPayloads(lines: readonly string[]): Promise<Refused[]> {
    try {
      await this.retrying(() => insertRowText(this.warehouse, 'spend_payloads', [lines.join('\n')]));
      return [];
    } catch (err) {
      if (!isRefusal(err)) throw err; // ClosingError: the job is retried later
      if (lines.length === 1)
        return [{ record: parsedLine(lines[0] ?? ''), reason: `ClickHouse (spend_payloads): ${asError(err).message}` }];
      const middle = Math.ceil(lines.length / 2);
      return [
        ...(await this.insertPayloads(lines.slice(0, middle))),
        ...(await this.insertPayloads(lines.slice(middle))),
      ];
    }
  }
}

/** Consecutive lines, each group at most PAYLOAD_INSERT_BYTES of text (a longer line goes alone). */
function payloadParts(lines: readonly string[]): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (current.length && size + line.length > PAYLOAD_INSERT_BYTES) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(line);
    size += line.length + 1;
  }
  if (current.length) parts.push(current);
  return parts;
}

function parsedLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return line;
  }
}
