// The ingest pipeline's knobs, resolved once from the config file (`ingest:` section and LiteLLM's
// general_settings retention keys) with defaults tuned by bench/ingest.ts.
import type { FileConfig } from '../config/schema.js';

export interface IngestSettings {
  batchMaxRecords: number;
  batchMaxMs: number;
  workerConcurrency: number;
  insertIntervalMs: number;
  retryMaxDelayMs: number;
  /** Raw spend_logs retention in whole days (null = keep forever). */
  rawRetentionDays: number | null;
  /** spend_payloads retention in whole days (null = keep forever). */
  payloadRetentionDays: number | null;
  maxBodyBytes: number;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, mo: 30 * 86_400_000 };

/** `30s`, `15m`, `2h`, `90d`, `2w`, `1mo` (a month is 30 days here) → milliseconds. */
export function durationMs(text: string): number {
  const match = /^(\d+)(s|m|h|d|w|mo)$/.exec(text.trim());
  if (!match) throw new RangeError(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Retention works on daily partitions, so an age rounds up to whole days (at least one). */
export function retentionDays(text: string | undefined): number | null {
  if (!text) return null;
  return Math.max(1, Math.ceil(durationMs(text) / UNIT_MS.d));
}

export function resolveIngestSettings(file: FileConfig): IngestSettings {
  const gs = file.general_settings;
  const ingest = file.ingest;
  const rawRetentionDays = retentionDays(gs.spend_logs_max_age ?? gs.maximum_spend_logs_retention_period);
  return {
    batchMaxRecords: ingest.batch_max_records ?? 5000,
    batchMaxMs: ingest.batch_max_ms ?? 50,
    workerConcurrency: ingest.worker_concurrency ?? 64,
    insertIntervalMs: ingest.insert_interval_ms ?? 1000,
    retryMaxDelayMs: ingest.retry_max_delay ? durationMs(ingest.retry_max_delay) : 30_000,
    rawRetentionDays,
    payloadRetentionDays: ingest.payload_max_age ? retentionDays(ingest.payload_max_age) : rawRetentionDays,
    maxBodyBytes: ingest.max_body_bytes ?? 64 * 1024 * 1024,
  };
}
