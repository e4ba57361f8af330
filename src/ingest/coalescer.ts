// Group commit for spend_logs inserts. Every INSERT costs ClickHouse a fixed overhead (a part per table and
// per rollup view, later merges), so the worker's batches in hand share inserts: while one insert is in
// flight, rows of other batches wait and go together in the next one, and a new insert starts at most once
// per `intervalMs` (`ingest.insert_interval_ms`, default 1 s) unless 10,000 rows (an efficient insert) wait.
// At 1,000 calls/s that is one insert a second instead of one per 50 ms micro-batch: ClickHouse's CPU for
// our inserts falls several-fold (bench/README.md), for at most `intervalMs` of added freshness lag. The
// batches wait as BullMQ jobs in hand (durable in Redis), so a crash loses nothing. Under backlog inserts
// grow by themselves. Each insert's query_id is recorded under every
// batch in it before it is sent, so a later attempt of any of those batches can wait for it to finish.
// Rows are the producer's JSONEachRow text, stamped with inserted_at and streamed to ClickHouse as they are.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import { ident, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { asError } from '../retry.js';
import { recordBatchQuery } from './dedup.js';
import { type EncodedRows, stampInsertedAt } from './rows.js';

const ROW_TABLES = ['spend_logs', 'spend_payloads'] as const;
/** Rows that make an insert efficient on their own: they go without waiting for the insert interval. */
const EAGER_ROWS = 10_000;

/**
 * Sends queued JSONEachRow texts (joined by newlines) as one INSERT, each row stamped with inserted_at now.
 * `exec` with a byte stream: the client's `insert` would parse nothing but re-encode objects.
 */
export async function insertRowText(
  warehouse: Warehouse,
  table: (typeof ROW_TABLES)[number],
  texts: readonly string[],
  queryId?: string,
): Promise<void> {
  const insertedAt = Math.floor(Date.now() / 1000);
  const chunks = texts.flatMap((text, i) => (i === 0 ? [] : ['\n']).concat(stampInsertedAt(text, insertedAt)));
  const result = await warehouse.client.exec({
    query: sql`INSERT INTO ${ident(table, ROW_TABLES)} FORMAT JSONEachRow`.text,
    values: Readable.from(chunks, { objectMode: false }),
    query_id: queryId,
  });
  result.stream.resume();
  await finished(result.stream);
}

interface Pending {
  batchId: string;
  rows: EncodedRows;
  resolve(): void;
  reject(err: InsertError): void;
}

/** An insert failure with the query_id it was sent under (to wait for, then re-check). */
export class InsertError extends Error {
  constructor(
    readonly original: unknown,
    readonly queryId: string,
  ) {
    super(asError(original).message);
  }
}

export class InsertCoalescer {
  private pending: Pending[] = [];
  private inFlight = 0;
  private lastStart = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly redis: Redis,
    private readonly maxRows: number,
    private readonly maxInFlight: number,
    private readonly intervalMs = 0,
  ) {}

  /** Resolves once the rows are committed; rejects with an InsertError (possibly shared with other batches). */
  insert(batchId: string, rows: EncodedRows): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ batchId, rows, resolve, reject });
      this.pump();
    });
  }

  /** Sends these rows in an insert of their own, now (bisection of a refused batch). */
  insertAlone(batchId: string, rows: EncodedRows): Promise<void> {
    return new Promise((resolve, reject) => void this.send([{ batchId, rows, resolve, reject }]));
  }

  /** Milliseconds until the next insert may start: 0 once the interval has passed or an efficient insert waits. */
  private waitMs(): number {
    const wait = this.lastStart + this.intervalMs - Date.now();
    if (wait <= 0) return 0;
    let rows = 0;
    for (const p of this.pending) rows += p.rows.length;
    return rows >= Math.min(EAGER_ROWS, this.maxRows) ? 0 : wait;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length) {
      const wait = this.waitMs();
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      this.lastStart = Date.now();
      const group: Pending[] = [];
      let rows = 0;
      while (
        this.pending.length &&
        (group.length === 0 || rows + (this.pending[0]?.rows.length ?? 0) <= this.maxRows)
      ) {
        const next = this.pending.shift() as Pending;
        group.push(next);
        rows += next.rows.length;
      }
      this.inFlight++;
      void this.send(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(group: Pending[]): Promise<void> {
    const queryId = `ingest-${randomUUID()}`;
    try {
      await recordBatchQuery(
        this.redis,
        group.map((p) => p.batchId),
        queryId,
      );
      await insertRowText(
        this.warehouse,
        'spend_logs',
        group.map((p) => p.rows.text),
        queryId,
      );
      for (const p of group) p.resolve();
    } catch (err) {
      for (const p of group) p.reject(new InsertError(err, queryId));
    }
  }
}
