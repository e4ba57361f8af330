// The Batch API's durable state in ClickHouse (clickhouse/064_batch_jobs.sql): uploaded batch input files
// and batches, each a versioned JSON doc. Writes are new versions; reads take argMax(…, version) per id.
import { z } from 'zod';
import { joinSql, type Sql, sql } from '../clickhouse/sql.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { type BatchObject, batchEndpointSchema, batchObjectSchema, type FileObject, fileObjectSchema } from './wire.js';

/** Who a batch's records are attributed to: the creating call's key, user, team, customer, tags and metadata. */
const attributionSchema = z.object({
  key_hash: z.string().nullable(),
  key_alias: z.string().nullable(),
  user_id: z.string().nullable(),
  team_id: z.string().nullable(),
  customer_id: z.string().nullable(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.string()),
});

const fileDocSchema = z.object({
  id: z.string(),
  key_hash: z.string(),
  /** The OpenAI account the file was uploaded to (BatchTarget.id). */
  upstream_id: z.string(),
  /** The model every line names (the client's model_name), and the endpoint every line targets. */
  model: z.string(),
  endpoint: batchEndpointSchema,
  lines: z.number().int().nonnegative(),
  /** Σ over lines of the worst-case cost at the batch price, nano-USD. */
  worst_case_nano: z.number().int().nonnegative(),
  file: fileObjectSchema,
});
export type FileDoc = z.infer<typeof fileDocSchema>;

const batchDocSchema = z.object({
  id: z.string(),
  upstream_id: z.string(),
  model: z.string(),
  endpoint: batchEndpointSchema,
  attribution: attributionSchema,
  /** The ledger reservation taken at creation (released when the batch is settled); null when unguarded. */
  reservation_id: z.string().nullable(),
  reserved_nano: z.number().int().nonnegative(),
  batch: batchObjectSchema,
  /** Set when the poller has written the batch's records. */
  settled: z.object({ records: z.number().int().nonnegative(), cost_nano: z.number().int() }).nullable(),
});
export type BatchDoc = z.infer<typeof batchDocSchema>;

type Kind = z.infer<typeof batchJobRow>['kind'];
export type FileState = 'active' | 'deleted';
export type BatchState = 'pending' | 'settled';

/** A batch's output or error file: whose it is and where it lives (files.content / retrieve / delete). */
const outputDocSchema = z.object({
  id: z.string(),
  key_hash: z.string(),
  upstream_id: z.string(),
  batch_id: z.string(),
  created_at: z.number().int().nonnegative(),
});
export type OutputDoc = z.infer<typeof outputDocSchema>;

/** A row of batch_jobs as inserted (created_at in epoch seconds). */
const batchJobRow = z.object({
  kind: z.enum(['file', 'batch', 'output']),
  id: z.string().min(1).max(128),
  key_hash: z.string(),
  state: z.enum(['active', 'deleted', 'pending', 'settled']),
  version: z.number().int().positive(),
  created_at: z.number().int().nonnegative(),
  doc: z.string(),
});

const docRow = z.object({ doc: z.string() });

export interface ListPage {
  /** Only this key's entries; null = every key's (admins). */
  keyHash: string | null;
  /** The cursor: entries listed after this id (newest first). */
  after: string | null;
  limit: number;
}

export class BatchStore {
  private sequence = 0;

  constructor(private readonly warehouse: Warehouse) {}

  private nextVersion(): number {
    this.sequence = (this.sequence + 1) % 1000;
    return Date.now() * 1000 + this.sequence;
  }

  private async put(kind: Kind, id: string, keyHash: string, state: string, createdAt: number, doc: object) {
    const row = batchJobRow.parse({
      kind,
      id,
      key_hash: keyHash,
      state,
      version: this.nextVersion(),
      created_at: createdAt,
      doc: JSON.stringify(doc),
    });
    await this.warehouse.insert('batch_jobs', [row]);
  }

  private latest(kind: Kind, where: Sql[]): Sql {
    return sql`SELECT id, doc, c FROM (
      SELECT id, argMax(doc, version) AS doc, argMax(state, version) AS st, argMax(key_hash, version) AS k,
             argMax(created_at, version) AS c
      FROM batch_jobs WHERE kind = ${kind} GROUP BY id
    ) WHERE ${joinSql([sql`1`, ...where], ' AND ')}`;
  }

  private async docs(kind: Kind, where: Sql[], tail: Sql = sql``): Promise<unknown[]> {
    const rows = await this.warehouse.rows(sql`${this.latest(kind, where)}${tail}`, docRow);
    return rows.map((row) => JSON.parse(row.doc) as unknown);
  }

  async putFile(doc: FileDoc, state: FileState): Promise<void> {
    await this.put('file', doc.id, doc.key_hash, state, doc.file.created_at, doc);
  }

  async getFile(id: string): Promise<FileDoc | null> {
    const [doc] = await this.docs('file', [sql`id = ${id}`, sql`st = 'active'`]);
    return doc === undefined ? null : fileDocSchema.parse(doc);
  }

  async putOutput(doc: OutputDoc, state: FileState): Promise<void> {
    await this.put('output', doc.id, doc.key_hash, state, doc.created_at, doc);
  }

  async getOutput(id: string): Promise<OutputDoc | null> {
    const [doc] = await this.docs('output', [sql`id = ${id}`, sql`st = 'active'`]);
    return doc === undefined ? null : outputDocSchema.parse(doc);
  }

  /** Remembers whose a batch's output and error files are (a file already known is not written again). */
  async noteOutputs(doc: BatchDoc, batch: BatchObject): Promise<void> {
    for (const id of [batch.output_file_id, batch.error_file_id]) {
      if (!id || (await this.getOutput(id))) continue;
      const owner = doc.attribution.key_hash ?? '';
      const output = {
        id,
        key_hash: owner,
        upstream_id: doc.upstream_id,
        batch_id: doc.id,
        created_at: batch.created_at,
      };
      await this.putOutput(output, 'active');
    }
  }

  async putBatch(doc: BatchDoc, state: BatchState): Promise<void> {
    await this.put('batch', doc.id, doc.attribution.key_hash ?? '', state, doc.batch.created_at, doc);
  }

  async getBatch(id: string): Promise<BatchDoc | null> {
    const [doc] = await this.docs('batch', [sql`id = ${id}`]);
    return doc === undefined ? null : batchDocSchema.parse(doc);
  }

  /** Batches not settled yet, oldest first (what the poller walks). */
  async pendingBatches(limit: number): Promise<BatchDoc[]> {
    const docs = await this.docs('batch', [sql`st = 'pending'`], sql` ORDER BY c, id LIMIT ${limit}`);
    return docs.map((doc) => batchDocSchema.parse(doc));
  }

  private async page(kind: Kind, page: ListPage, extra: Sql[]): Promise<unknown[]> {
    const where = [...extra];
    if (page.keyHash !== null) where.push(sql`k = ${page.keyHash}`);
    if (page.after !== null) {
      // Newest first, ties by id: the cursor's own (created_at, id) is where the next page starts.
      const cursor = sql`(SELECT argMax(created_at, version) FROM batch_jobs WHERE kind = ${kind} AND id = ${page.after})`;
      where.push(sql`(c < ${cursor} OR (c = ${cursor} AND id < ${page.after}))`);
    }
    return this.docs(kind, where, sql` ORDER BY c DESC, id DESC LIMIT ${page.limit + 1}`);
  }

  async listFiles(page: ListPage): Promise<{ files: FileObject[]; hasMore: boolean }> {
    const docs = (await this.page('file', page, [sql`st = 'active'`])).map((d) => fileDocSchema.parse(d));
    return { files: docs.slice(0, page.limit).map((d) => d.file), hasMore: docs.length > page.limit };
  }

  async listBatches(page: ListPage): Promise<{ batches: BatchObject[]; hasMore: boolean }> {
    const docs = (await this.page('batch', page, [])).map((d) => batchDocSchema.parse(d));
    return { batches: docs.slice(0, page.limit).map((d) => d.batch), hasMore: docs.length > page.limit };
  }
}
