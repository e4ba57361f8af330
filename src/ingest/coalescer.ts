// Group commit for spend_logs inserts. Every INSERT costs ClickHouse a fixed overhead (a part per table,
// the two rollup views, later merges), so the worker's batches in hand share inserts: while one insert is in
// flight, rows of other batches wait and go together in the next one. Idle, a batch is sent at once (no
// added latency); under backlog inserts grow by themselves. Each insert's query_id is recorded under every
// batch in it before it is sent, so a later attempt of any of those batches can wait for it to finish.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { recordBatchQuery } from './dedup.js';
import type { SpendLogRow } from './rows.js';

interface Pending {
  batchId: string;
  rows: SpendLogRow[];
  resolve(): void;
  reject(err: InsertError): void;
}

/** An insert failure with the query_id it was sent under (to wait for, then re-check). */
export class InsertError extends Error {
  constructor(
    readonly original: unknown,
    readonly queryId: string,
  ) {
    super((original as Error)?.message ?? String(original));
  }
}

export class InsertCoalescer {
  private pending: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly redis: Redis,
    private readonly maxRows: number,
    private readonly maxInFlight: number,
  ) {}

  /** Resolves once the rows are committed; rejects with an InsertError (possibly shared with other batches). */
  insert(batchId: string, rows: SpendLogRow[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ batchId, rows, resolve, reject });
      this.pump();
    });
  }

  /** Sends these rows in an insert of their own, now (bisection of a refused batch). */
  insertAlone(batchId: string, rows: SpendLogRow[]): Promise<void> {
    return new Promise((resolve, reject) => void this.send([{ batchId, rows, resolve, reject }]));
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length) {
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
      await this.warehouse.client.insert({
        table: 'spend_logs',
        values: group.length === 1 ? (group[0]?.rows ?? []) : group.flatMap((p) => p.rows),
        format: 'JSONEachRow',
        query_id: queryId,
      });
      for (const p of group) p.resolve();
    } catch (err) {
      for (const p of group) p.reject(new InsertError(err, queryId));
    }
  }
}
