// SpendRecord → ClickHouse rows. The table's types are narrower than JSON numbers (DateTime is 1970–2105,
// UInt32 durations) and 18.16 silently wraps out-of-range values on JSONEachRow inserts, so every row is
// checked against its columns (rowProblems) before it is queued; a record that does not fit is poison
// (dead-letter queue), never a wrapped number. Queued rows travel as JSONEachRow text (EncodedRows): the
// worker sends that text to ClickHouse as it is and parses single lines only to dedup, bisect or dead-letter.

import {
  ADDED_FIELD_DEFAULTS,
  normalizeTags,
  type SpendRecord,
  spendRecordSchema,
  storableRecord,
} from '../spendRecord.js';
import type { TimedId } from './dedup.js';

const MAX_DATETIME_MS = Date.UTC(2105, 11, 31);
const MAX_UINT32 = 4_294_967_295;
const SAFE = Number.MAX_SAFE_INTEGER;
const TOKENS = [0, SAFE] as const;

/** The integer columns of spend_logs and the values each holds exactly (clickhouse/001_spend_logs.sql). */
const INTEGER_COLUMNS = {
  start_time: [0, Math.floor(MAX_DATETIME_MS / 1000)],
  start_time_ms: [0, MAX_DATETIME_MS],
  end_time_ms: [0, MAX_DATETIME_MS],
  duration_ms: [0, MAX_UINT32],
  ttft_ms: [0, MAX_UINT32],
  status: [0, 65_535],
  prompt_tokens: TOKENS,
  completion_tokens: TOKENS,
  cached_tokens: TOKENS,
  cache_write_tokens: TOKENS,
  reasoning_tokens: TOKENS,
  total_tokens: TOKENS,
  cost_nano: [-SAFE, SAFE],
  usage_estimated: [0, 1],
  stream: [0, 1],
} as const satisfies Partial<Record<keyof SpendLogRow, readonly [number, number]>>;

const STRING_COLUMNS = [
  'request_id',
  'response_id',
  'call_type',
  'error_type',
  'key_hash',
  'key_alias',
  'user_id',
  'team_id',
  'customer_id',
  'model',
  'upstream_model',
  'provider',
  'cost_status',
  'source',
] as const satisfies readonly (keyof SpendLogRow)[];

const ARRAY_COLUMNS = ['tags', 'metadata_keys', 'metadata_values'] as const satisfies readonly (keyof SpendLogRow)[];

/** The SpendRecord field a column comes from (what a rejection names). */
const RECORD_FIELD: Partial<Record<keyof SpendLogRow, keyof SpendRecord>> = {
  start_time_ms: 'start_time',
  end_time_ms: 'end_time',
  metadata_keys: 'metadata',
  metadata_values: 'metadata',
};

export interface RowProblem {
  /** The record field at fault. */
  field: string;
  reason: string;
}

const INTEGER_LIMITS = Object.entries(INTEGER_COLUMNS) as [keyof typeof INTEGER_COLUMNS, readonly [number, number]][];
const TIME_COLUMNS = new Set<keyof QueuedRow>(['start_time', 'start_time_ms', 'end_time_ms']);

function allStrings(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

function addProblem(problems: RowProblem[], column: keyof QueuedRow, reason: string): void {
  const field = RECORD_FIELD[column] ?? column;
  if (!problems.some((p) => p.field === field)) problems.push({ field, reason });
}

/**
 * Every field of the row whose value its column cannot hold exactly (empty when the row is insertable).
 * On the producer's path for every record: plain loops, no closure.
 */
export function rowProblems(row: QueuedRow): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const [column, [min, max]] of INTEGER_LIMITS) {
    const value = row[column];
    if (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max) continue;
    if (value === null && column === 'ttft_ms') continue;
    const reason = TIME_COLUMNS.has(column)
      ? 'outside the storable range 1970-01-01 … 2105-12-31'
      : `${value} is outside ${min} … ${max}`;
    addProblem(problems, column, reason);
  }
  for (const column of STRING_COLUMNS)
    if (typeof row[column] !== 'string') addProblem(problems, column, 'expected a string');
  for (const column of ARRAY_COLUMNS) if (!allStrings(row[column])) addProblem(problems, column, 'expected strings');
  return problems;
}

/** What the ingest API and dead-letter replay accept: the SpendRecord contract plus the table's own limits. */
export const insertableRecordSchema = spendRecordSchema.superRefine((record, ctx) => {
  for (const { field, reason } of rowProblems(toSpendLogRow(record, 0))) {
    ctx.addIssue({ code: 'custom', path: [field], message: reason });
  }
});

/** The spend_logs row as sent with JSONEachRow (columns of clickhouse/001_spend_logs.sql). */
export type SpendLogRow = {
  request_id: string;
  response_id: string;
  start_time: number;
  start_time_ms: number;
  end_time_ms: number;
  duration_ms: number;
  ttft_ms: number | null;
  call_type: string;
  status: number;
  error_type: string;
  key_hash: string;
  key_alias: string;
  user_id: string;
  team_id: string;
  customer_id: string;
  model: string;
  upstream_model: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_nano: number;
  cost_status: string;
  usage_estimated: number;
  tags: string[];
  metadata_keys: string[];
  metadata_values: string[];
  stream: number;
  source: string;
  inserted_at: number;
};

/** A spend_payloads row as queued (inserted_at is stamped when sent): only for records with messages/response. */
export interface QueuedPayloadRow {
  request_id: string;
  start_time: number;
  messages: string;
  response: string;
}

/** A row as queued: everything but inserted_at, which the worker stamps when it sends the row. */
export type QueuedRow = Omit<SpendLogRow, 'inserted_at'>;

export function toSpendLogRow(record: SpendRecord, insertedAtSec: number): SpendLogRow {
  return { ...toQueuedRow(record), inserted_at: insertedAtSec };
}

/** normalizeTags, without its Set and sort when the tags already are sorted and unique (the usual case). */
function canonicalTags(tags: readonly string[]): string[] {
  for (let i = 1; i < tags.length; i++)
    if (!((tags[i - 1] as string) < (tags[i] as string))) return normalizeTags(tags);
  return tags.slice();
}

function toQueuedRow(record: SpendRecord): QueuedRow {
  const startMs = Date.parse(record.start_time);
  const metadataKeys = Object.keys(record.metadata);
  if (metadataKeys.length > 1) metadataKeys.sort();
  return {
    request_id: record.request_id,
    response_id: record.response_id ?? '',
    start_time: Math.floor(startMs / 1000),
    start_time_ms: startMs,
    end_time_ms: Date.parse(record.end_time),
    duration_ms: record.duration_ms,
    ttft_ms: record.ttft_ms,
    call_type: record.call_type,
    status: record.status,
    error_type: record.error_type ?? '',
    key_hash: record.key_hash ?? '',
    key_alias: record.key_alias ?? '',
    user_id: record.user_id ?? '',
    team_id: record.team_id ?? '',
    customer_id: record.customer_id ?? '',
    model: record.model,
    upstream_model: record.upstream_model,
    provider: record.provider,
    prompt_tokens: record.prompt_tokens,
    completion_tokens: record.completion_tokens,
    cached_tokens: record.cached_tokens,
    cache_write_tokens: record.cache_write_tokens,
    reasoning_tokens: record.reasoning_tokens,
    total_tokens: record.total_tokens,
    cost_nano: record.cost_nano,
    cost_status: record.cost_status,
    usage_estimated: record.usage_estimated ? 1 : 0,
    // Rollups key on the exact tag set, so it must be one canonical value however the caller sent it.
    tags: canonicalTags(record.tags),
    metadata_keys: metadataKeys,
    metadata_values: metadataKeys.map((k) => record.metadata[k] as string),
    stream: record.stream ? 1 : 0,
    source: record.source,
  };
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

/** A queued row as a SpendRecord again (dead letters hold records, so replay re-validates them as such). */
export function fromQueuedRow(row: QueuedRow): SpendRecord {
  return {
    request_id: row.request_id,
    response_id: row.response_id || null,
    start_time: new Date(row.start_time_ms).toISOString(),
    end_time: new Date(row.end_time_ms).toISOString(),
    duration_ms: row.duration_ms,
    ttft_ms: row.ttft_ms,
    call_type: row.call_type,
    status: row.status,
    error_type: row.error_type || null,
    key_hash: row.key_hash || null,
    key_alias: row.key_alias || null,
    user_id: row.user_id || null,
    team_id: row.team_id || null,
    customer_id: row.customer_id || null,
    model: row.model,
    upstream_model: row.upstream_model,
    provider: row.provider,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cached_tokens: row.cached_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
    total_tokens: row.total_tokens,
    cost_nano: row.cost_nano,
    ...ADDED_FIELD_DEFAULTS,
    list_cost_nano: row.cost_nano,
    cost_status: row.cost_status as SpendRecord['cost_status'],
    usage_estimated: row.usage_estimated === 1,
    tags: row.tags,
    metadata: Object.fromEntries(row.metadata_keys.map((k, i) => [k, row.metadata_values[i] ?? ''])),
    stream: row.stream === 1,
    source: row.source as SpendRecord['source'],
  };
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
    const row = toQueuedRow(record);
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
