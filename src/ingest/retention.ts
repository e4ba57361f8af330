// Raw retention: spend_logs and spend_payloads are partitioned by day, so expiring data is dropping whole
// partitions older than the configured age (`general_settings.spend_logs_max_age` /
// `maximum_spend_logs_retention_period`; `ingest.payload_max_age` for prompts). Never row deletes, and
// rollups (spend_hourly, spend_hourly_team, spend_daily) are not touched. Runs hourly in worker processes; a Redis lock keeps
// two workers from doing the same drops at once (harmless, but noisy).

import type { Redis } from 'ioredis';
import { z } from 'zod';
import { databaseIdent, ident, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { localTable } from '../cluster/shardingKeys.js';
import { startPeriodic } from '../periodic.js';
import { asError } from '../retry.js';
import type { IngestSettings } from './settings.js';

const RETENTION_TABLES = ['spend_logs', 'spend_payloads'] as const;
type RetentionTable = (typeof RETENTION_TABLES)[number];
/** In cluster mode the data lives in `<table>_local` on every shard (docs/scaling.md); partitions are theirs. */
const PARTITIONED_TABLES = [...RETENTION_TABLES, ...RETENTION_TABLES.map(localTable)];

const partitionRow = z.object({ partition: z.string() });
const DAY_MS = 86_400_000;

export interface DroppedPartition {
  table: RetentionTable;
  /** The partition's day, YYYY-MM-DD. */
  day: string;
}

/** The first day that is kept: everything strictly before it is dropped. */
export function retentionCutoff(now: Date, days: number): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (days - 1) * DAY_MS).toISOString().slice(0, 10);
}

async function dropOlderThan(warehouse: Warehouse, table: RetentionTable, cutoff: string): Promise<DroppedPartition[]> {
  const partitioned = warehouse.cluster ? localTable(table) : table;
  const rows = await warehouse.rows(
    sql`SELECT DISTINCT partition FROM system.parts
        WHERE database = currentDatabase() AND table = ${partitioned} AND active`,
    partitionRow,
  );
  const dropped: DroppedPartition[] = [];
  // Partitions are toDate(start_time): `partition` reads as 2026-01-31; compare as ISO dates.
  for (const { partition } of rows) {
    const day = partition.replace(/'/g, '');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day >= cutoff) continue;
    const onCluster = warehouse.cluster ? sql` ON CLUSTER ${databaseIdent(warehouse.cluster)}` : sql``;
    await warehouse.exec(sql`ALTER TABLE ${ident(partitioned, PARTITIONED_TABLES)}${onCluster} DROP PARTITION ${day}`);
    dropped.push({ table, day });
  }
  return dropped;
}

/** One retention pass; returns what it dropped. */
export async function applyRetention(
  warehouse: Warehouse,
  settings: Pick<IngestSettings, 'rawRetentionDays' | 'payloadRetentionDays'>,
  now = new Date(),
): Promise<DroppedPartition[]> {
  const dropped: DroppedPartition[] = [];
  if (settings.rawRetentionDays !== null) {
    dropped.push(...(await dropOlderThan(warehouse, 'spend_logs', retentionCutoff(now, settings.rawRetentionDays))));
  }
  if (settings.payloadRetentionDays !== null) {
    const cutoff = retentionCutoff(now, settings.payloadRetentionDays);
    dropped.push(...(await dropOlderThan(warehouse, 'spend_payloads', cutoff)));
  }
  return dropped;
}

const RETENTION_INTERVAL_MS = 3_600_000;
const FIRST_RUN_DELAY_MS = 60_000;

export function startRetentionSchedule(
  warehouse: Warehouse,
  redis: Redis,
  settings: IngestSettings,
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
): () => void {
  if (settings.rawRetentionDays === null && settings.payloadRetentionDays === null) return () => {};
  const run = async () => {
    // Held for most of the interval: one worker per hour does the pass.
    const got = await redis.set('ingest:retention:lock', '1', 'PX', RETENTION_INTERVAL_MS - 60_000, 'NX');
    if (got !== 'OK') return;
    const dropped = await applyRetention(warehouse, settings);
    if (dropped.length) log.info({ dropped }, 'retention: dropped expired spend partitions');
  };
  return startPeriodic(run, {
    everyMs: RETENTION_INTERVAL_MS,
    firstAfterMs: FIRST_RUN_DELAY_MS,
    onError: (err) => log.warn({ err: asError(err).message }, 'retention pass failed'),
  });
}
