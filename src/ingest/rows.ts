// SpendRecord → ClickHouse rows, by the columns declared in src/spendLogColumns.ts (encodeRow writes them in
// the table's order: request_id, response_id and start_time first, which rowKey relies on). The table's types
// are narrower than JSON numbers (DateTime is 1970–2105, UInt32 durations) and 18.16 silently wraps
// out-of-range values on JSONEachRow inserts, so every row is checked against its columns' limits
// (rowProblems) before it is queued; a record that does not fit is poison
// (dead-letter queue), never a wrapped number. Queued rows travel as JSONEachRow text (EncodedRows): the
// worker sends that text to ClickHouse as it is and parses single lines only to dedup, bisect or dead-letter.

import { encodeRow, RECORD_COLUMNS, type RowValues, WRITTEN_COLUMNS, type WrittenRow } from '../spendLogColumns.js';
import { type SpendRecord, spendRecordSchema, storableRecord } from '../spendRecord.js';
import type { TimedId } from './dedup.js';

export interface RowProblem {
  /** The record field at fault. */
  field: string;
  reason: string;
}

/** The written columns that have limits, with the record field each one names in a rejection. */
const CHECKED = WRITTEN_COLUMNS.flatMap(({ name, field, check }) =>
  check.kind === 'none' ? [] : [{ name, field: field ?? name, check }],
);

function allStrings(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

function addProblem(problems: RowProblem[], field: string, reason: string): void {
  if (!problems.some((p) => p.field === field)) problems.push({ field, reason });
}

/**
 * Every field of the row whose value its column cannot hold exactly (empty when the row is insertable).
 * On the producer's path for every record: plain loops, no closure.
 */
export function rowProblems(row: RowValues): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const { name, field, check } of CHECKED) {
    const value = row[name];
    if (check.kind === 'int') {
      if (Number.isSafeInteger(value) && (value as number) >= check.min && (value as number) <= check.max) continue;
      if (value === null && check.nullable) continue;
      const reason = check.time
        ? 'outside the storable range 1970-01-01 … 2105-12-31'
        : `${value} is outside ${check.min} … ${check.max}`;
      addProblem(problems, field, reason);
    } else if (check.kind === 'string') {
      if (typeof value !== 'string') addProblem(problems, field, 'expected a string');
    } else if (!allStrings(value)) addProblem(problems, field, 'expected strings');
  }
  return problems;
}

/** What the ingest API and dead-letter replay accept: the SpendRecord contract plus the table's own limits. */
export const insertableRecordSchema = spendRecordSchema.superRefine((record, ctx) => {
  for (const { field, reason } of rowProblems(encodeRow(record))) {
    ctx.addIssue({ code: 'custom', path: [field], message: reason });
  }
});

/** A row as queued: every column of spend_logs the encoder writes (src/spendLogColumns.ts). */
export type QueuedRow = WrittenRow;

/** The spend_logs row as sent with JSONEachRow: the queued row stamped with inserted_at. */
export type SpendLogRow = QueuedRow & { inserted_at: number };

/** A spend_payloads row as queued (inserted_at is stamped when sent): only for records with messages/response. */
export interface QueuedPayloadRow {
  request_id: string;
  start_time: number;
  messages: string;
  response: string;
}

export function toSpendLogRow(record: SpendRecord, insertedAtSec: number): SpendLogRow {
  return { ...encodeRow(record), inserted_at: insertedAtSec };
}

function toQueuedPayloadRow(record: SpendRecord): QueuedPayloadRow | null {
  const messages = record.messages ?? null;
  const response = record.response ?? null;
  if (messages === null && response === null) return null;
  return {
    request_id: record.request_id,
    start_time: Math.floor(Date.parse(record.start_time) / 1000),
    messages: messages ?? '',
    response: response ?? '',
  };
}

/**
 * A queued or stored row as a SpendRecord again (dead letters hold records, so replay re-validates them as
 * such; a row missing a column of a later migration reads as that column's record default).
 */
export function fromQueuedRow(row: RowValues): SpendRecord {
  const record: Record<string, unknown> = {};
  for (const column of RECORD_COLUMNS) {
    const value = row[column.name];
    if (column.field !== null && value !== undefined) record[column.field] = column.decode?.(value, row);
  }
  return spendRecordSchema.parse(record);
}

/**
 * Encodes records for one queued batch, once: each becomes a JSONEachRow line (and a spend_payloads line
 * when it carries messages/response). Text is made storable first (storableRecord: lone surrogates and
 * control characters → U+FFFD), so no text can make ClickHouse refuse a row. A record whose values its
 * columns cannot hold is refused with the fields at fault (the caller dead-letters it as it came, not as
 * it would have been stored); a repeated request_id keeps its first record.
 */
export class BatchEncoder {
  static of(records: Iterable<SpendRecord>): BatchEncoder {
    const encoder = new BatchEncoder();
    for (const record of records) encoder.add(record);
    return encoder;
  }

  private readonly lines: string[] = [];
  private readonly payloadLines: string[] = [];
  private readonly ids = new Set<string>();
  readonly refused: { record: SpendRecord; reason: string }[] = [];

  add(original: SpendRecord): void {
    const record = storableRecord(original);
    if (this.ids.has(record.request_id)) return;
    const row = encodeRow(record);
    const problems = rowProblems(row);
    if (problems.length) {
      this.refused.push({ record: original, reason: problems.map((p) => `${p.field}: ${p.reason}`).join('; ') });
      return;
    }
    this.ids.add(record.request_id);
    this.lines.push(JSON.stringify(row));
    const payload = toQueuedPayloadRow(record);
    if (payload) this.payloadLines.push(JSON.stringify(payload));
  }

  /** Records taken so far (encoded or refused). */
  get size(): number {
    return this.lines.length + this.refused.length;
  }

  get rowCount(): number {
    return this.lines.length;
  }

  /** spend_logs rows, one JSON object a line. */
  rows(): string {
    return this.lines.join('\n');
  }

  /** spend_payloads rows, one JSON object a line ('' when none). */
  payloads(): string {
    return this.payloadLines.join('\n');
  }
}

/**
 * Queued rows as the worker holds them: the JSONEachRow text it sends as is, split into lines that are
 * parsed only when a row's key or record is needed (duplicate check, bisection, dead letters).
 */
export class EncodedRows {
  private parsedKeys: TimedId[] | null = null;

  private constructor(
    readonly lines: readonly string[],
    private joined: string | null,
  ) {}

  static fromText(text: string): EncodedRows {
    return new EncodedRows(text.split('\n'), text);
  }

  get length(): number {
    return this.lines.length;
  }

  get text(): string {
    if (this.joined === null) this.joined = this.lines.join('\n');
    return this.joined;
  }

  /**
   * request_id and start_time of every row. A line that is not a row (only a hand-made or corrupted job
   * holds one) gets an empty id: ClickHouse then refuses it and bisection dead-letters it as its text.
   */
  keys(): TimedId[] {
    if (this.parsedKeys === null) this.parsedKeys = this.lines.map(rowKey);
    return this.parsedKeys;
  }

  /** These rows minus those whose request_id is in `ids`. */
  without(ids: ReadonlySet<string>): EncodedRows {
    if (ids.size === 0) return this;
    const keys = this.keys();
    return new EncodedRows(
      this.lines.filter((_line, i) => !ids.has(keys[i]?.request_id ?? '')),
      null,
    );
  }

  slice(start: number, end?: number): EncodedRows {
    return new EncodedRows(this.lines.slice(start, end), null);
  }

  /** The row as a SpendRecord again (for its dead letter), or its text when it is not a row. */
  record(index: number): SpendRecord | string {
    const line = this.lines[index] ?? '';
    const row = parseRow(line);
    if (!row) return line;
    try {
      return fromQueuedRow(row);
    } catch {
      return line;
    }
  }
}

/**
 * The encoder writes request_id, response_id and start_time first (toQueuedRow's order), so a row's key is
 * read from the start of its line; parsing the whole line for it (every line of every ingest batch, for
 * the duplicate check) was ~7 µs a row, 14 ms of event loop per 2,000-row job. Any other line is parsed.
 */
const KEY_PREFIX = /^\{"request_id":("(?:[^"\\]|\\.)*"),"response_id":"(?:[^"\\]|\\.)*","start_time":(\d{1,15}),/;

function rowKey(line: string): TimedId {
  const match = KEY_PREFIX.exec(line);
  if (match) return { request_id: JSON.parse(match[1] as string) as string, start_time: Number(match[2]) };
  const row = parseRow(line);
  const id = row && typeof row.request_id === 'string' ? row.request_id : '';
  const start = row && Number.isSafeInteger(row.start_time) ? row.start_time : 0;
  return { request_id: id, start_time: start };
}

function parseRow(line: string): QueuedRow | null {
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as QueuedRow) : null;
  } catch {
    return null;
  }
}

/**
 * Queued JSONEachRow text with every row stamped `inserted_at` (the time it is sent, which the archive's
 * late-row scan relies on). Every line starts with `{"` and JSON text never holds a raw newline, so
 * "start of text" and "\n{" are exactly the row starts.
 */
export function stampInsertedAt(text: string, insertedAtSec: number): string {
  const field = `{"inserted_at":${Math.floor(insertedAtSec)},`;
  return field + text.slice(1).replaceAll('\n{', `\n${field}`);
}
