// Numbered .sql migrations from clickhouse/, applied at startup and by `npm run migrate`, recorded in
// `schema_migrations`. Safe when several processes start at once: a Redis lock serialises runners and
// every statement is idempotent (IF NOT EXISTS), so even a runner that lost its lock cannot break the schema.
// Files are written for one server; the runner makes them cluster-ready (`{{on_cluster}}`, Replicated engines).
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { databaseIdent, Sql, sql } from './sql.js';
import type { Warehouse } from './warehouse.js';

export const MIGRATIONS_DIR = new URL('../../clickhouse/', import.meta.url).pathname;

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  text: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3,}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(file.split('_')[0]),
        name: file.replace(/\.sql$/, ''),
        checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
        text,
      };
    });
}

const ENGINE = /ENGINE\s*=\s*(Summing|Aggregating|Replacing|Collapsing)?MergeTree\(([^)]*)\)/;
const CREATE_TABLE = /CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+`?(\w+)`?/i;

/** Splits a migration into statements and fills in the cluster-dependent parts. */
export function renderMigration(text: string, cluster: string | null, database: string): string[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((statement) => {
      let out = statement.replaceAll('{{on_cluster}}', cluster ? `ON CLUSTER ${databaseIdent(cluster).text}` : '');
      if (cluster) {
        const table = CREATE_TABLE.exec(out)?.[1];
        out = out.replace(ENGINE, (_m, kind: string | undefined, args: string) => {
          const zkPath = `'/clickhouse/tables/{shard}/${database}/${table ?? 'unknown'}', '{replica}'`;
          return `ENGINE = Replicated${kind ?? ''}MergeTree(${zkPath}${args.trim() ? `, ${args}` : ''})`;
        });
      }
      return out;
    });
}

const appliedRow = z.object({ version: z.coerce.number(), checksum: z.string() });

async function appliedMigrations(warehouse: Warehouse): Promise<Map<number, string>> {
  const rows = await warehouse.rows(sql`SELECT version, checksum FROM schema_migrations`, appliedRow);
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

// Deletes the lock only if we still hold it (compare-and-delete).
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

async function withLock<T>(redis: Redis, key: string, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + 120_000;
  while ((await redis.set(key, token, 'PX', 120_000, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`timed out waiting for migration lock ${key}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export async function migrate(
  warehouse: Warehouse,
  redis: Redis,
  migrations = loadMigrations(),
): Promise<MigrateResult> {
  return withLock(redis, `migrations:${warehouse.database}`, async () => {
    for (const statement of renderMigration(SCHEMA_MIGRATIONS_DDL, warehouse.cluster, warehouse.database)) {
      await warehouse.exec(new Sql(statement));
    }
    const done = await appliedMigrations(warehouse);
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const m of migrations) {
      const existing = done.get(m.version);
      if (existing !== undefined) {
        if (existing !== m.checksum) {
          throw new Error(
            `migration ${m.name} was changed after it was applied (checksum ${existing} ≠ ${m.checksum})`,
          );
        }
        result.skipped.push(m.name);
        continue;
      }
      for (const statement of renderMigration(m.text, warehouse.cluster, warehouse.database)) {
        await warehouse.exec(new Sql(statement));
      }
      await warehouse.insert('schema_migrations', [
        { version: m.version, name: m.name, checksum: m.checksum, applied_at: Math.floor(Date.now() / 1000) },
      ]);
      result.applied.push(m.name);
    }
    return result;
  });
}

/** True when every migration in the folder is recorded; readiness uses it. */
export async function migrationsUpToDate(warehouse: Warehouse, migrations = loadMigrations()): Promise<boolean> {
  const done = await appliedMigrations(warehouse);
  return migrations.every((m) => done.get(m.version) === m.checksum);
}

const SCHEMA_MIGRATIONS_DDL = `
CREATE TABLE IF NOT EXISTS schema_migrations {{on_cluster}} (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime
) ENGINE = MergeTree() ORDER BY version;
`;
