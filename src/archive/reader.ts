// Reading the archive back with DuckDB: the local folder as it is, or S3 objects downloaded to a temp
// folder first (same layout), exposed as a view `spend_logs` with hive partitioning (dt, hour columns).
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { FORMAT_EXTENSION, TABLE_DIR, tableRoot } from './layout.js';
import type { ArchiveSettings, SpendFormat } from './settings.js';
import type { ArchiveStore } from './store.js';
import { duckString, openDuckDb } from './windowWriter.js';

export interface LocalArchive {
  /** Folder holding `spend_logs/dt=…/hour=…/part-….parquet` (and `spend_logs_jsonl/…`). */
  root: string;
  files: number;
  cleanup(): Promise<void>;
}

/** `dt=2026-01-05/hour=10` of a key → epoch seconds of that hour, or null. */
function hourOfKey(key: string): number | null {
  const match = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return match ? Date.parse(`${match[1]}T${match[2]}:00:00Z`) / 1000 : null;
}

/**
 * The archive as a local folder. For S3, downloads the objects of `format` whose hour partition overlaps
 * [from, to) (everything when no range is given) into a temp folder that `cleanup` removes.
 */
export async function localArchive(
  settings: ArchiveSettings,
  store: ArchiveStore,
  format: SpendFormat,
  range: { from?: number; to?: number } = {},
): Promise<LocalArchive> {
  if (settings.target.kind === 'local') {
    const root = settings.prefix ? join(settings.target.root, settings.prefix) : settings.target.root;
    const files = await countFiles(join(root, TABLE_DIR[format]), FORMAT_EXTENSION[format]);
    return { root, files, cleanup: async () => {} };
  }
  const root = await mkdtemp(join(tmpdir(), 'spendhouse-archive-read-'));
  const prefix = `${tableRoot(settings.prefix, format)}/`;
  let files = 0;
  for (const key of await store.list(prefix)) {
    if (!key.endsWith(`.${FORMAT_EXTENSION[format]}`)) continue;
    const hour = hourOfKey(key);
    if (hour === null || (range.from !== undefined && hour + 3600 <= range.from)) continue;
    if (range.to !== undefined && hour >= range.to) continue;
    const body = await store.get(key);
    if (!body) continue;
    const path = join(root, TABLE_DIR[format], key.slice(prefix.length));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    files++;
  }
  return { root, files, cleanup: () => rm(root, { recursive: true, force: true }) };
}

async function countFiles(dir: string, extension: string): Promise<number> {
  try {
    const entries = await readdir(dir, { recursive: true });
    return entries.filter((e) => e.endsWith(`.${extension}`)).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** The DuckDB table function reading every file of `format` under the archive root. */
export function archiveSource(root: string, format: SpendFormat): string {
  const glob = duckString(join(root, TABLE_DIR[format], '**', `*.${FORMAT_EXTENSION[format]}`));
  return format === 'parquet'
    ? `read_parquet(${glob}, hive_partitioning = true)`
    : `read_json(${glob}, hive_partitioning = true, format = 'newline_delimited')`;
}

export interface ArchiveSession {
  db: DuckDBInstance;
  conn: DuckDBConnection;
  close(): void;
}

/** A DuckDB connection with the view `spend_logs` over the archive (an empty view when there are no files). */
export async function openArchiveSession(archive: LocalArchive, format: SpendFormat): Promise<ArchiveSession> {
  // Spill files (big queries) go to the temp folder, never into the archive folder itself.
  const db = await openDuckDb(tmpdir());
  const conn = await db.connect();
  const source =
    archive.files > 0
      ? archiveSource(archive.root, format)
      : `(SELECT NULL::VARCHAR AS request_id, NULL::TIMESTAMP_MS AS start_time, NULL::BIGINT AS cost_nano WHERE false)`;
  await conn.run(`CREATE VIEW spend_logs AS SELECT * FROM ${source}`);
  return {
    db,
    conn,
    close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** A plain-text table (header, rule, right-aligned numbers) for the CLI. */
export function formatTable(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = rows.map((row) => row.map((v) => (v === null || v === undefined ? 'NULL' : String(v))));
  const numeric = columns.map((_c, i) =>
    text.every((row) => /^-?\d+(\.\d+)?$/.test(row[i] ?? '') || row[i] === 'NULL'),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}
