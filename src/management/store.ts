// Reads and writes of the control-plane tables. A write is an insert of a new version (last writer wins by
// version); a delete is a tombstone row. Reads take argMax(…, version) per id, which is exact whether or not
// ReplacingMergeTree has merged yet. Nothing here caches: see cache.ts.
import { z } from 'zod';
import { ident, joinSql, type Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { type DocOf, type IndexColumns, KIND_TABLES, KINDS, type Kind } from './entities.js';

export interface ListFilter {
  ids?: string[];
  alias?: string;
  team_id?: string;
  user_id?: string;
  /** Include rows hidden from lists (rotated keys in their grace period). */
  includeUnlisted?: boolean;
}

export interface Page {
  offset: number;
  limit: number;
}

const docRow = z.object({ id: z.string(), doc: z.string() });
const countRow = z.object({ total: z.coerce.number() });

export class ControlStore {
  private sequence = 0;

  constructor(readonly warehouse: Warehouse) {}

  /** Microseconds since the epoch plus a per-process sequence: monotonic here, ordered by time across processes. */
  private nextVersion(): number {
    this.sequence = (this.sequence + 1) % 1000;
    return Date.now() * 1000 + this.sequence;
  }

  private latest(kind: Kind, filter: ListFilter): Sql {
    const table = ident(KINDS[kind].table, KIND_TABLES);
    const inner: Sql[] = [sql`1`];
    // 18.16 wants a tuple on the right of IN, not an array literal.
    if (filter.ids) inner.push(sql`id IN (${joinSql(filter.ids.length ? filter.ids : [''])})`);
    const outer: Sql[] = [sql`del = 0`];
    if (filter.alias !== undefined) outer.push(sql`a = ${filter.alias}`);
    if (filter.team_id !== undefined) outer.push(sql`t = ${filter.team_id}`);
    if (filter.user_id !== undefined) outer.push(sql`u = ${filter.user_id}`);
    if (!filter.includeUnlisted) outer.push(sql`l = 1`);
    return sql`SELECT id, doc FROM (
      SELECT id, argMax(doc, version) AS doc, argMax(deleted, version) AS del, argMax(alias, version) AS a,
             argMax(team_id, version) AS t, argMax(user_id, version) AS u, argMax(listed, version) AS l
      FROM ${table} WHERE ${joinSql(inner, ' AND ')} GROUP BY id
    ) WHERE ${joinSql(outer, ' AND ')}`;
  }

  private parse<K extends Kind>(kind: K, doc: string): DocOf<K> {
    return KINDS[kind].schema.parse(JSON.parse(doc)) as DocOf<K>;
  }

  async getMany<K extends Kind>(kind: K, ids: readonly string[]): Promise<Map<string, DocOf<K>>> {
    const out = new Map<string, DocOf<K>>();
    if (ids.length === 0) return out;
    const rows = await this.warehouse.rows(this.latest(kind, { ids: [...ids], includeUnlisted: true }), docRow);
    for (const row of rows) out.set(row.id, this.parse(kind, row.doc));
    return out;
  }

  async get<K extends Kind>(kind: K, id: string): Promise<DocOf<K> | null> {
    return (await this.getMany(kind, [id])).get(id) ?? null;
  }

  async list<K extends Kind>(kind: K, filter: ListFilter, page?: Page): Promise<{ docs: DocOf<K>[]; total: number }> {
    const base = this.latest(kind, filter);
    const limit = page ? sql` LIMIT ${page.limit} OFFSET ${page.offset}` : sql``;
    const [rows, counted] = await Promise.all([
      this.warehouse.rows(sql`${base} ORDER BY id${limit}`, docRow),
      page ? this.warehouse.rows(sql`SELECT count() AS total FROM (${base})`, countRow) : Promise.resolve(null),
    ]);
    const docs = rows.map((row) => this.parse(kind, row.doc));
    return { docs, total: counted ? (counted[0]?.total ?? 0) : docs.length };
  }

  /** Writes new versions and tombstones of one kind in a single insert block (all or nothing). */
  async write<K extends Kind>(
    kind: K,
    change: { put?: readonly DocOf<K>[]; remove?: readonly string[] },
  ): Promise<void> {
    const spec = KINDS[kind];
    const now = Math.floor(Date.now() / 1000);
    // The registry types columns() per kind; inside this generic function K is still a union.
    const columns = spec.columns as (doc: unknown) => IndexColumns;
    const rows = [
      ...(change.put ?? []).map((doc) => ({ ...columns(doc), deleted: 0, doc: JSON.stringify(doc) })),
      ...(change.remove ?? []).map((id) => ({
        id,
        alias: '',
        team_id: '',
        user_id: '',
        listed: 0,
        deleted: 1,
        doc: '',
      })),
    ].map((row) => ({ ...row, version: this.nextVersion(), updated_at: now }));
    await this.warehouse.insert(spec.table, rows);
  }
}
