// Where the proxy (and the ingest API) hand finished SpendRecords. The production sink is the spend journal
// (src/ingest/spendJournal.ts: durable in Redis before record() resolves); tests may use MemorySink.
import type { SpendRecord } from './spendRecord.js';

export interface SpendSink {
  /**
   * Resolves once the record is durable (in Redis for the production sink): the proxy awaits it before the
   * last byte of an answer leaves, so a process killed after answering has lost nothing.
   */
  record(record: SpendRecord): Promise<void>;
  /** Accepts a record without waiting (bulk producers); must not throw for a valid record. */
  submit(record: SpendRecord): void;
  /** Resolves when everything submitted so far has been handed to the queue. */
  flush(): Promise<void>;
}

export class MemorySink implements SpendSink {
  readonly records: SpendRecord[] = [];
  async record(record: SpendRecord): Promise<void> {
    this.records.push(record);
  }
  submit(record: SpendRecord): void {
    this.records.push(record);
  }
  async flush(): Promise<void> {}
}
