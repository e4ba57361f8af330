// Window arithmetic and object names. A window is [start, start + windowSeconds) in UTC; its objects sit in
// the Hive partition of the hour it starts in, under names that depend only on the window, so a re-run
// overwrites the same objects instead of adding new ones.
import type { ArchiveFormat } from './settings.js';

/**
 * One folder per format: Athena reads every object under a table's LOCATION, so Parquet and JSON lines
 * must not share partitions (DuckDB could cope, Athena cannot).
 */
export const TABLE_DIR: Record<ArchiveFormat, string> = {
  parquet: 'spend_logs',
  jsonl: 'spend_logs_jsonl',
  focus_parquet: 'focus',
  focus_csv: 'focus_csv',
};

export const FORMAT_EXTENSION: Record<ArchiveFormat, string> = {
  parquet: 'parquet',
  jsonl: 'jsonl.gz',
  focus_parquet: 'parquet',
  focus_csv: 'csv.gz',
};
export const FORMAT_CONTENT_TYPE: Record<ArchiveFormat, string> = {
  parquet: 'application/vnd.apache.parquet',
  jsonl: 'application/x-ndjson',
  focus_parquet: 'application/vnd.apache.parquet',
  focus_csv: 'text/csv',
};

/** Floors an epoch-seconds instant to its window start. */
export function windowStartOf(epochSeconds: number, windowSeconds: number): number {
  return Math.floor(epochSeconds / windowSeconds) * windowSeconds;
}

/** `2026-11-27T10:15Z`-style id for logs and tables. */
export function windowLabel(windowStart: number): string {
  return `${new Date(windowStart * 1000).toISOString().slice(0, 16)}Z`;
}

function partitionOf(windowStart: number): { dt: string; hour: string; stamp: string } {
  const iso = new Date(windowStart * 1000).toISOString();
  return {
    dt: iso.slice(0, 10),
    hour: iso.slice(11, 13),
    stamp: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`,
  };
}

function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/**
 * `<prefix>/spend_logs/dt=2026-11-27/hour=10/part-20261127T1000Z.parquet` (jsonl: `spend_logs_jsonl/…`);
 * FOCUS files are partitioned by billing period, as FinOps tools expect:
 * `<prefix>/focus/billing_period=2026-11/part-20261127T1000Z.parquet` (CSV: `focus_csv/…/….csv.gz`).
 */
export function objectKey(prefix: string, windowStart: number, format: ArchiveFormat): string {
  const { dt, hour, stamp } = partitionOf(windowStart);
  const name = `part-${stamp}.${FORMAT_EXTENSION[format]}`;
  if (format === 'focus_parquet' || format === 'focus_csv') {
    return joinKey(prefix, TABLE_DIR[format], `billing_period=${dt.slice(0, 7)}`, name);
  }
  return joinKey(prefix, TABLE_DIR[format], `dt=${dt}`, `hour=${hour}`, name);
}

/** The folder of one format's table: Athena's LOCATION, DuckDB's glob root. */
export function tableRoot(prefix: string, format: ArchiveFormat): string {
  return joinKey(prefix, TABLE_DIR[format]);
}

/** Parses `--from`/`--to` values: ISO-8601 (a date alone means midnight UTC) → epoch seconds. */
export function parseInstant(text: string, name: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new Error(`${name}: not an ISO-8601 date or time: ${JSON.stringify(text)}`);
  return Math.floor(ms / 1000);
}
