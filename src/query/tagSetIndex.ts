// Raw questions with a tag filter without reading every call's tags. spend_logs keeps a hash of each call's
// tag set (tags_hash, clickhouse/054); spend_team_tags_daily keeps every tag set of every day (one row per
// day × team × status class × set). The filter is evaluated on the rollup's sets and the raw scan keeps the
// calls whose hash is one of the matching sets' hashes: 8 bytes read per call instead of its tags array
// (measured at 10M calls: 2.7–3.8× less ClickHouse CPU per question; docs/query-api.md, Performance).
// Exact as long as no set the filter matches shares its hash with a set it does not match: checked over the
// window's sets before use. A collision, too many sets, or no index (rollup not installed, a non-UTC server,
// no tags_hash column yet) leaves the question to the tags column, as before. The matching rollup rows are
// written by a materialized view right after the calls themselves, so a call of a tag set new that day can
// be missed by a question asked in that instant (the rollups share this; reading the calls' tags did not).
import { z } from 'zod';
import { type Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { type SelectSpec, tagConditions } from './build.js';
import { catalogSql, dimensionSql, RAW, type SourceCatalog } from './catalog.js';
import { ceilTo, floorTo } from './piecewise.js';
import { TEAM_TAGS_DAILY, tagsHashStored } from './rollup.js';

const DAY_MS = 86_400_000;

/** The hash of a tag-set column, as clickhouse/054_spend_logs_tags_hash.sql stores it for each call. */
export const tagsHash = (column: string) =>
  `cityHash64(arrayStringConcat(arrayMap(t -> concat(toString(length(t)), ':', t), ${column}), ','))`;

/** Past this many matching sets the set lookup stops paying for itself (tags unique per call, say). */
export const MAX_TAG_SETS = 100_000;

export interface TagSetIndex {
  /** `tags_hash GLOBAL IN (hashes of the matching sets)`: SelectSpec.tagSetCondition. */
  condition: Sql;
  /** How many of the window's tag sets the filter matches (a team-scoped caller: of its team's sets). */
  sets: number;
}

const guardRow = z.object({ sets: z.coerce.number(), collisions: z.coerce.number() });

/**
 * The tag-set condition for a raw `spec`, or null when the tags column must be read. `hash` is the stored
 * expression; tests pass a weaker one to see the collision check refuse.
 */
export async function tagSetIndex(
  warehouse: Warehouse,
  spec: SelectSpec,
  installed: readonly SourceCatalog[],
  hash: (column: string) => string = tagsHash,
): Promise<TagSetIndex | null> {
  // Grouped by tag, the scan explodes every call's tags anyway.
  if (spec.source !== RAW || spec.groupBy.includes('tag')) return null;
  const index = installed.find((r) => r.table === TEAM_TAGS_DAILY.table);
  const match = index ? tagConditions(spec, index) : [];
  if (!index || !match.length || !(await tagsHashStored(warehouse))) return null;
  // Whole days around the window: a superset of its tag sets (the raw scan keeps the exact window).
  const days = sql`${catalogSql(index.time)} >= ${new Date(floorTo(spec.window.fromMs, DAY_MS))}
    AND ${catalogSql(index.time)} < ${new Date(ceilTo(spec.window.toMs, DAY_MS))}`;
  const matches = match.reduce((all, c) => sql`${all} AND ${c}`);
  // A team-scoped caller's sets are its team's (a smaller set, and the count it is told says nothing of other
  // teams' tags); collisions are checked over every team's sets all the same.
  const team = spec.scope.teamId;
  const mine = team === undefined ? sql`1` : sql`${dimensionSql(index, 'team')} = ${team}`;
  const hashOf = catalogSql(hash('tags'));
  const [guard] = await warehouse.rows(
    sql`SELECT countIf(hi = 1 AND own = 1) AS sets, countIf(hi = 1 AND lo = 0) AS collisions
      FROM (SELECT ${hashOf} AS h, max(m) AS hi, min(m) AS lo, max(m AND t) AS own
        FROM (SELECT DISTINCT tags, toUInt8(${matches}) AS m, toUInt8(${mine}) AS t
          FROM ${catalogSql(index.table)} WHERE ${days})
        GROUP BY h)`,
    guardRow,
  );
  if (!guard || guard.collisions > 0 || guard.sets > MAX_TAG_SETS) return null;
  return {
    condition: sql`tags_hash GLOBAL IN (SELECT ${hashOf} FROM ${catalogSql(index.table)} WHERE ${days} AND ${matches} AND ${mine})`,
    sets: guard.sets,
  };
}
