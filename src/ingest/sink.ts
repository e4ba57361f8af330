// Where the proxy (and the ingest API) hand finished SpendRecords. The production sink is the BullMQ
// micro-batching producer (src/ingest/producer.ts); tests may use MemorySink.
import type { SpendRecord } from '../spendRecord.js';

export interface SpendSink {
  /** Accepts a record without waiting for ClickHouse; must not throw for a valid record. */
  submit(record: SpendRecord): void;
  /** Resolves when everything submitted so far has been handed to the queue. */
  flush(): Promise<void>;
}

export class MemorySink implements SpendSink {
  readonly records: SpendRecord[] = [];
  submit(record: SpendRecord): void {
    this.records.push(record);
  }
  async flush(): Promise<void> {}
}
