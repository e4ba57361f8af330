// Cooperative time slicing for long loops on the event loop (ingest bodies of 100k records, 64 MiB of
// JSON): a loop calls `slice()` between units of work and gives other requests the loop once SLICE_MS have
// passed. Keeps any one ingest request from stalling the process past the 50 ms budget (docs/ingest.md).
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work done between two yields. Well under the 50 ms budget, so a unit of work may overrun it. */
export const SLICE_MS = 8;

export class TimeSlicer {
  private since = performance.now();

  /** Resolves at once inside a slice; after SLICE_MS of work, on the next turn of the event loop. */
  async slice(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return;
    await nextTurn();
    this.since = performance.now();
  }
}
