// A thin, typed face over @clickhouse/client: every read is validated by a zod row schema, every statement
// is an `Sql` from the safe builder, every insert goes as JSONEachRow (values never become SQL text).
import type { ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';
import type { Sql } from './sql.js';

export class Warehouse {
  constructor(
    readonly client: ClickHouseClient,
    readonly database: string,
    readonly cluster: string | null,
  ) {}

  async rows<S extends z.ZodType>(query: Sql, rowSchema: S, signal?: AbortSignal): Promise<z.infer<S>[]> {
    const result = await this.client.query({ query: query.text, format: 'JSONEachRow', abort_signal: signal });
    const raw = await result.json<unknown>();
    return raw.map((row) => rowSchema.parse(row));
  }

  /** `queryId`: the server refuses a second query with the same id while the first runs. */
  async exec(statement: Sql, options: { queryId?: string } = {}): Promise<void> {
    await this.client.command({ query: statement.text, query_id: options.queryId });
  }

  /** Inserts rows already shaped for `table` (the caller's zod insert schema has checked them). */
  async insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
  }

  async ping(): Promise<boolean> {
    const result = await this.client.ping();
    return result.success;
  }
}
