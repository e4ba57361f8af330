// Exports one closed window: fingerprint it, stream its rows out of ClickHouse, let DuckDB write the files,
// check the files hold exactly what ClickHouse held, store every object (with backoff), and only then
// record the window in the manifest. Object names depend only on the window, so a re-run overwrites.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { FORMAT_CONTENT_TYPE, objectKey, windowLabel, windowStartOf } from './layout.js';
import { isCurrent, type ManifestEntry, type ManifestObject, readManifest, recordExport } from './manifest.js';
import { type BackoffOptions, STORE_BACKOFF, withBackoff } from './retry.js';
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
  backoff?: BackoffOptions;
}

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

async function writeObjects(ctx: ArchiveContext, live: WindowFingerprint, workDir: string): Promise<ManifestObject[]> {
  const { settings } = ctx;
  const input = join(workDir, 'rows.jsonl');
  await streamWindowRows(ctx.warehouse, live.windowStart, settings.windowSeconds, input);
  const files = await writeWindowFiles(input, workDir, settings.formats, settings.compression);
  if (files.rows !== live.rows || files.costNano !== live.costNano) throw new WindowMovedError();
  const objects: ManifestObject[] = [];
  for (const format of settings.formats) {
    const body = files.bodies[format];
    if (!body) continue;
    const key = objectKey(settings.prefix, live.windowStart, format);
    await withBackoff(() => ctx.store.put(key, body, FORMAT_CONTENT_TYPE[format]), ctx.backoff ?? STORE_BACKOFF);
    objects.push({ key, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length });
  }
  return objects;
}

async function exportLocked(ctx: ArchiveContext, windowStart: number, force: boolean): Promise<WindowResult> {
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
      const objects = await writeObjects(ctx, live, workDir);
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
export async function exportWindow(ctx: ArchiveContext, windowStart: number, force = false): Promise<WindowResult> {
  const result = await withWindowLock(ctx.redis, windowLockKey(ctx.destination, windowStart), () =>
    exportLocked(ctx, windowStart, force),
  );
  return result ?? { windowStart, outcome: 'locked', rows: 0, objects: [] };
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
  for (const window of windows) {
    const result = await exportWindow(ctx, window.windowStart, options.force ?? false);
    options.onWindow?.(result);
    results.push(result);
  }
  return results;
}
