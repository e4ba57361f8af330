// Exports one closed window: fingerprint it, stream its rows out of ClickHouse, let DuckDB write the files,
// check the files hold exactly what ClickHouse held, store every object (with backoff), and only then
// record the window in the manifest. Object names depend only on the window, so a re-run overwrites.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { asError, type RetryOptions, retry } from '../retry.js';
import { FORMAT_CONTENT_TYPE, objectKey, windowLabel, windowStartOf } from './layout.js';
import { isCurrent, type ManifestEntry, type ManifestObject, readManifest, recordExport } from './manifest.js';
import { type ArchiveSettings, describeTarget } from './settings.js';
import { rangeFingerprints, streamWindowRows, type WindowFingerprint } from './source.js';
import type { ArchiveStore } from './store.js';
import { windowLockKey, withWindowLock } from './windowLock.js';
import { writeWindowFiles } from './windowWriter.js';

export interface ArchiveContext {
  warehouse: Warehouse;
  redis: Redis;
  settings: ArchiveSettings;
  store: ArchiveStore;
  /** Manifest key: where the objects go (`s3://bucket/prefix`, `file:///…`). */
  destination: string;
  /** Retries of each object store (default STORE_BACKOFF). */
  backoff?: RetryOptions;
}

/** An unreachable store delays a window, never skips it: 8 attempts, 0.25 s doubling to at most 5 s apart. */
export const STORE_BACKOFF: RetryOptions = { attempts: 8, baseMs: 250, maxMs: 5000 };

export function archiveContext(
  warehouse: Warehouse,
  redis: Redis,
  settings: ArchiveSettings,
  store: ArchiveStore,
): ArchiveContext {
  return { warehouse, redis, settings, store, destination: describeTarget(settings) };
}

/** `exported`: objects + manifest written; `unchanged`: manifest already current; `empty`: no rows;
 * `locked`: another worker is exporting it right now. */
export type WindowOutcome = 'exported' | 'unchanged' | 'empty' | 'locked';

export interface WindowResult {
  windowStart: number;
  outcome: WindowOutcome;
  rows: number;
  objects: ManifestObject[];
}

/** Rows landed while the window was being read; the caller reads it again. */
class WindowMovedError extends Error {}

const MAX_READS = 3;

async function fingerprintOf(ctx: ArchiveContext, windowStart: number): Promise<WindowFingerprint | undefined> {
  const ws = ctx.settings.windowSeconds;
  return (await rangeFingerprints(ctx.warehouse, ws, windowStart, windowStart + ws))[0];
}

/** A window's rows being read from ClickHouse ahead of its export (see exportWindows). */
interface ReadAhead {
  windowStart: number;
  dir: Promise<string>;
  /** The CSV file once it is complete. */
  rows: Promise<string>;
}

function readAhead(ctx: ArchiveContext, windowStart: number): ReadAhead {
  const dir = mkdtemp(join(tmpdir(), 'spendhouse-archive-ahead-'));
  const rows = dir.then(async (d) => {
    const path = join(d, 'rows.csv');
    await streamWindowRows(ctx.warehouse, windowStart, ctx.settings.windowSeconds, path);
    return path;
  });
  // Whoever takes the rows sees a failure; a read-ahead nobody takes must not fail the process.
  rows.catch(() => undefined);
  return { windowStart, dir, rows };
}

async function discard(ahead: ReadAhead | undefined): Promise<void> {
  if (!ahead) return;
  await ahead.rows.catch(() => undefined);
  await rm(await ahead.dir, { recursive: true, force: true });
}

/** The rows read ahead, or a fresh read into `workDir` when there are none or the read ahead failed. */
async function windowRows(
  ctx: ArchiveContext,
  windowStart: number,
  workDir: string,
  ahead?: ReadAhead,
): Promise<string> {
  const early = await ahead?.rows.catch(() => undefined);
  if (early) return early;
  const path = join(workDir, 'rows.csv');
  await streamWindowRows(ctx.warehouse, windowStart, ctx.settings.windowSeconds, path);
  return path;
}

async function writeObjects(
  ctx: ArchiveContext,
  live: WindowFingerprint,
  workDir: string,
  ahead?: ReadAhead,
): Promise<ManifestObject[]> {
  const { settings } = ctx;
  const input = await windowRows(ctx, live.windowStart, workDir, ahead);
  const files = await writeWindowFiles(input, workDir, settings.formats, settings.compression);
  if (files.rows !== live.rows || files.costNano !== live.costNano) throw new WindowMovedError();
  const objects: ManifestObject[] = [];
  for (const format of settings.formats) {
    const body = files.bodies[format];
    if (!body) continue;
    const key = objectKey(settings.prefix, live.windowStart, format);
    await retry(() => ctx.store.put(key, body, FORMAT_CONTENT_TYPE[format]), ctx.backoff ?? STORE_BACKOFF);
    objects.push({ key, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length });
  }
  return objects;
}

async function exportLocked(
  ctx: ArchiveContext,
  windowStart: number,
  force: boolean,
  ahead?: ReadAhead,
): Promise<WindowResult> {
  for (let read = 1; ; read++) {
    const live = await fingerprintOf(ctx, windowStart);
    if (!live) return { windowStart, outcome: 'empty', rows: 0, objects: [] };
    // Checked again under the lock: another worker may have finished this window a moment ago.
    const previous = (await readManifest(ctx.warehouse, ctx.destination, windowStart, windowStart + 1)).get(
      windowStart,
    );
    if (!force && previous && isCurrent(previous, live)) {
      return { windowStart, outcome: 'unchanged', rows: live.rows, objects: previous.objects };
    }
    const workDir = await mkdtemp(join(tmpdir(), 'spendhouse-archive-'));
    try {
      // Rows read ahead were read before this fingerprint: if the window changed in between, the totals
      // check fails and the next round reads afresh.
      const objects = await writeObjects(ctx, live, workDir, read === 1 ? ahead : undefined);
      const entry: ManifestEntry = {
        ...live,
        windowSeconds: ctx.settings.windowSeconds,
        objects,
        exportedAt: Math.floor(Date.now() / 1000),
      };
      await recordExport(ctx.warehouse, ctx.destination, entry);
      return { windowStart, outcome: 'exported', rows: live.rows, objects };
    } catch (err) {
      if (!(err instanceof WindowMovedError)) throw err;
      if (read >= MAX_READS) {
        throw new Error(`window ${windowLabel(windowStart)} kept changing while it was exported; try again`);
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/** Exports one window unless it is current (or `force`), holding the window's lock across workers. */
export async function exportWindow(
  ctx: ArchiveContext,
  windowStart: number,
  force = false,
  ahead?: ReadAhead,
): Promise<WindowResult> {
  const result = await withWindowLock(ctx.redis, windowLockKey(ctx.destination, windowStart), () =>
    exportLocked(ctx, windowStart, force, ahead),
  );
  return result ?? { windowStart, outcome: 'locked', rows: 0, objects: [] };
}

/**
 * Exports `windows` oldest first, reading the next stale window's rows from ClickHouse while the current
 * one is sorted, written and stored: on 2 cores ClickHouse formats while DuckDB works (docs/archive.md,
 * Speed). `each` gets every window's result or error (and is awaited); when it throws, the run stops there. At most one
 * window is read ahead, so the temp space is two windows' CSV.
 */
export async function exportWindows(
  ctx: ArchiveContext,
  windows: readonly WindowFingerprint[],
  force: boolean,
  each: (windowStart: number, outcome: WindowResult | Error) => void | Promise<void>,
): Promise<void> {
  const first = windows[0]?.windowStart;
  const last = windows.at(-1)?.windowStart;
  if (first === undefined || last === undefined) return;
  const manifest = force ? new Map() : await readManifest(ctx.warehouse, ctx.destination, first, last + 1);
  const stale = windows.filter((w) => force || !isCurrent(manifest.get(w.windowStart), w)).map((w) => w.windowStart);
  let ahead: ReadAhead | undefined;
  try {
    for (const { windowStart } of windows) {
      const mine = ahead?.windowStart === windowStart ? ahead : undefined;
      if (mine) ahead = undefined;
      const next = stale.find((w) => w > windowStart);
      if (next !== undefined && !ahead) ahead = readAhead(ctx, next);
      let outcome: WindowResult | Error;
      try {
        outcome = await exportWindow(ctx, windowStart, force, mine);
      } catch (err) {
        outcome = asError(err);
      } finally {
        await discard(mine);
      }
      await each(windowStart, outcome);
    }
  } finally {
    await discard(ahead);
  }
}

/** The start of the first window that is still open (or settling) at `nowSeconds`. */
export function closedBefore(
  settings: ArchiveSettings,
  nowSeconds: number,
  settleSeconds = settings.settleSeconds,
): number {
  return windowStartOf(Math.floor(nowSeconds) - settleSeconds, settings.windowSeconds);
}

/**
 * Backfill: every non-empty closed window in [from, to), oldest first, each exported unless current
 * (`force` rewrites them all — same names, same bytes). Stops at the first failure: nothing is skipped.
 */
export async function exportRange(
  ctx: ArchiveContext,
  from: number,
  to: number,
  options: { force?: boolean; nowSeconds?: number; onWindow?: (result: WindowResult) => void } = {},
): Promise<WindowResult[]> {
  const ws = ctx.settings.windowSeconds;
  // Whole windows only: a partial window's fingerprint would not match the window's.
  const start = windowStartOf(from, ws);
  const end = Math.min(
    windowStartOf(to + ws - 1, ws),
    closedBefore(ctx.settings, options.nowSeconds ?? Date.now() / 1000, 0),
  );
  if (end <= start) return [];
  const windows = await rangeFingerprints(ctx.warehouse, ws, start, end);
  const results: WindowResult[] = [];
  await exportWindows(ctx, windows, options.force ?? false, (_windowStart, outcome) => {
    if (outcome instanceof Error) throw outcome;
    options.onWindow?.(outcome);
    results.push(outcome);
  });
  return results;
}
