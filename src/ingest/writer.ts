// Writes validated records into ClickHouse so that each request_id is stored once, whatever fails:
// - transient failures (ClickHouse down, slow, timeouts, too many parts) wait with capped backoff for as
//   long as it takes; before retrying, the writer waits until its previous insert (found by query_id in
//   system.processes) is no longer running, then re-checks which rows already landed and sends only the
//   rest — an insert that timed out on our side but committed on the server is never sent twice;
// - data errors (the table refuses a value) are isolated by bisection: the good halves go in, each
//   refused record is returned with ClickHouse's reason for the dead-letter queue.
import { randomUUID } from 'node:crypto';
import { ClickHouseError } from '@clickhouse/client';
import { z } from 'zod';
import { sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { SpendRecord } from '../spendRecord.js';
import { existingRequestIds } from './dedup.js';
import { retryDelayMs } from './queue.js';
import { toPayloadRow, toSpendLogRow } from './rows.js';

/** ClickHouse error codes that mean "this data", not "this server": CANNOT_PARSE_*, TYPE_MISMATCH, … */
const DATA_ERROR_CODES = new Set([6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 395, 469]);

/**
 * The server's error code. Current servers' errors parse into ClickHouseError; 18.16 writes
 * `Code: 395, e.displayText() = …`, which the client leaves as a plain Error with that message.
 */
export function clickhouseErrorCode(err: unknown): number | null {
  if (err instanceof ClickHouseError) return Number(err.code);
  const match = err instanceof Error ? /^Code: (\d+)[.,]/.exec(err.message) : null;
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
    private readonly hooks: WriterHooks,
    private readonly maxRetryDelayMs: number,
  ) {}

  /** Runs `fn` until it succeeds or fails with a data error; every other failure is waited out. */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        this.hooks.onRecovered();
        return result;
      } catch (err) {
        if (isDataError(err)) throw err;
        this.hooks.onOutage(err as Error);
        if (this.hooks.isClosing()) throw new ClosingError();
        await new Promise((r) => setTimeout(r, retryDelayMs(attempt, this.maxRetryDelayMs)));
        if (this.hooks.isClosing()) throw new ClosingError();
      }
    }
  }

  /** Blocks while any insert whose query_id starts with `prefix` still runs on the server. */
  async waitForQueries(prefix: string): Promise<void> {
    for (;;) {
      const rows = await this.retrying(() =>
        this.warehouse.rows(
          sql`SELECT count() AS n FROM system.processes
              WHERE substring(query_id, 1, ${prefix.length}) = ${prefix}`,
          runningQueriesRow,
        ),
      );
      if ((rows[0]?.n ?? 0) === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async withoutExisting(records: SpendRecord[]): Promise<SpendRecord[]> {
    const items = records.map((r) => ({
      request_id: r.request_id,
      start_time: Math.floor(Date.parse(r.start_time) / 1000),
    }));
    const existing = await this.retrying(() => existingRequestIds(this.warehouse, items));
    return existing.size ? records.filter((r) => !existing.has(r.request_id)) : records;
  }

  /**
   * Inserts records (none of which spend_logs holds yet) and returns the ones ClickHouse refused.
   * `queryPrefix` names every insert of this batch so a later attempt can wait for them to finish.
   */
  async write(records: SpendRecord[], queryPrefix: string): Promise<Refused[]> {
    if (records.length === 0) return [];
    try {
      await this.insertOnce(records, queryPrefix);
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (records.length === 1) return [{ record: records[0] as SpendRecord, reason: `ClickHouse: ${err.message}` }];
      const middle = Math.ceil(records.length / 2);
      const left = await this.write(records.slice(0, middle), queryPrefix);
      const right = await this.write(records.slice(middle), queryPrefix);
      return [...left, ...right];
    }
  }

  /** One insert unit: payloads first (a ReplacingMergeTree, repeats collapse), then the spend rows. */
  private async insertOnce(records: SpendRecord[], queryPrefix: string): Promise<void> {
    const insertedAt = Math.floor(Date.now() / 1000);
    const payloads = records.flatMap((r) => toPayloadRow(r, insertedAt) ?? []);
    if (payloads.length) {
      await this.retrying(() => this.insert('spend_payloads', payloads, `${queryPrefix}p-${randomUUID()}`));
    }
    let pending = records;
    for (let attempt = 1; pending.length; attempt++) {
      const queryId = `${queryPrefix}${randomUUID()}`;
      try {
        await this.insert(
          'spend_logs',
          pending.map((r) => toSpendLogRow(r, insertedAt)),
          queryId,
        );
        this.hooks.onRecovered();
        return;
      } catch (err) {
        if (isDataError(err)) throw err;
        this.hooks.onOutage(err as Error);
        if (this.hooks.isClosing()) throw new ClosingError();
        await new Promise((r) => setTimeout(r, retryDelayMs(attempt, this.maxRetryDelayMs)));
        // The failed insert may still commit on the server: wait for it, then send only what is missing.
        await this.waitForQueries(queryId);
        pending = await this.withoutExisting(pending);
      }
    }
  }

  private async insert(table: string, rows: readonly object[], queryId: string): Promise<void> {
    await this.warehouse.client.insert({
      table,
      values: rows as Record<string, unknown>[],
      format: 'JSONEachRow',
      query_id: queryId,
    });
  }
}
