// The spend_logs table, declared once: each column's name, its ClickHouse type, how a SpendRecord is
// written into it and read back, the values it holds exactly, how ClickHouse's JSON sends it, and what it
// becomes in the archive's Parquet files. The ingest encoder (ingest/rows.ts), the logs endpoints
// (query/logs/logRows.ts) and the archive (archive/columns.ts) are derived from this list; a test checks it
// against what ClickHouse reports for the table after the migrations (test/spend-log-columns.test.ts).
// Adding a column: a migration (ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN …) and one entry here.
import { z } from 'zod';
import { normalizeTags, type SpendRecord, type UnitPrices, unitPricesSchema } from './spendRecord.js';

/** One column of the archive's files (docs/archive.md). */
export interface ArchiveColumn {
  name: string;
  /** ClickHouse expression over spend_logs (a constant, never user input); null: derived in DuckDB only. */
  source: string | null;
  /** DuckDB type of the loaded value (`VARCHAR[]`: sent as a list literal, cast after loading). */
  input: string;
  /** DuckDB expression over the loaded columns (named as the archive columns); null = the column as loaded. */
  output: string | null;
  /** Athena / Hive type of the Parquet column. */
  athena: string;
  doc: string;
}

/** What a row's value must be for its column to hold it exactly (checked before a row is queued). */
export type ColumnCheck =
  | { kind: 'int'; min: number; max: number; nullable: boolean; time: boolean }
  | { kind: 'string' }
  | { kind: 'strings' }
  | { kind: 'none' };

/** A queued or stored row by column name (a decoder may read a sibling: metadata values beside the keys). */
export type RowValues = Readonly<Record<string, unknown>>;

export interface SpendLogColumn<V = unknown> {
  /** The type `DESCRIBE TABLE spend_logs` reports. */
  type: string;
  /** The SpendRecord field the column comes from (what a rejection names); null: not from the record. */
  field: keyof SpendRecord | null;
  /** How ClickHouse's JSON output sends the value (64-bit integers arrive quoted). */
  read: z.ZodType<V>;
  check: ColumnCheck;
  /** The value written for a record; null: not written by the encoder (stamped by the worker, or computed). */
  encode: ((record: SpendRecord) => V) | null;
  /** The record field's value from the column's; null: the column is derived from another one. */
  decode: ((value: V, row: RowValues) => unknown) | null;
  archive: readonly ArchiveColumn[];
}

const MAX_DATETIME_MS = Date.UTC(2105, 11, 31);
const SAFE = Number.MAX_SAFE_INTEGER;
const UINT = { UInt8: 255, UInt16: 65_535, UInt32: 4_294_967_295, UInt64: SAFE } as const;
const int = z.coerce.number();

const archiveText = (name: string, doc: string, source = name): ArchiveColumn => ({
  name,
  source,
  input: 'VARCHAR',
  output: null,
  athena: 'string',
  doc,
});

const archiveInteger = (name: string, doc: string, type: 'int' | 'bigint' = 'bigint'): ArchiveColumn => ({
  name,
  source: name,
  input: type === 'int' ? 'INTEGER' : 'BIGINT',
  output: null,
  athena: type,
  doc,
});

type Fields<T> = { [K in keyof SpendRecord]-?: SpendRecord[K] extends T ? K : never }[keyof SpendRecord];

/** A string field stored as it is. */
function text<F extends Fields<string>>(field: F, doc: string): SpendLogColumn<string> {
  return {
    type: 'String',
    field,
    read: z.string(),
    check: { kind: 'string' },
    encode: (r) => r[field],
    decode: (v) => v,
    archive: [archiveText(field, doc)],
  };
}

/** A nullable string field: null is stored as '' (and archived as null). */
function optionalText<F extends Fields<string | null>>(field: F, doc: string): SpendLogColumn<string> {
  return {
    type: 'String',
    field,
    read: z.string(),
    check: { kind: 'string' },
    encode: (r) => r[field] ?? '',
    decode: (v): string | null => v || null,
    archive: [archiveText(field, doc, `nullIf(${field}, '')`)],
  };
}

/** A non-negative integer field. */
function count<F extends Fields<number>>(
  field: F,
  doc: string,
  type: keyof typeof UINT = 'UInt64',
): SpendLogColumn<number> {
  return {
    type,
    field,
    read: int,
    check: { kind: 'int', min: 0, max: UINT[type], nullable: false, time: false },
    encode: (r) => r[field],
    decode: (v) => v,
    archive: [archiveInteger(field, doc, type === 'UInt64' ? 'bigint' : 'int')],
  };
}

/** A signed nano-USD amount (negative only on corrections: the record schema checks that). */
function nano<F extends Fields<number>>(field: F, archive: readonly ArchiveColumn[]): SpendLogColumn<number> {
  return {
    type: 'Int64',
    field,
    read: int,
    check: { kind: 'int', min: -SAFE, max: SAFE, nullable: false, time: false },
    encode: (r) => r[field],
    decode: (v) => v,
    archive,
  };
}

function flag<F extends Fields<boolean>>(field: F, doc: string): SpendLogColumn<number> {
  return {
    type: 'UInt8',
    field,
    read: int,
    check: { kind: 'int', min: 0, max: 1, nullable: false, time: false },
    encode: (r) => (r[field] ? 1 : 0),
    decode: (v) => v === 1,
    archive: [{ ...archiveInteger(field, doc), input: 'BOOLEAN', athena: 'boolean' }],
  };
}

/** An ISO time field as epoch milliseconds (archived as a millisecond timestamp under the field's name). */
function msTime(field: 'start_time' | 'end_time', doc: string): SpendLogColumn<number> {
  return {
    type: 'UInt64',
    field,
    read: int,
    check: { kind: 'int', min: 0, max: MAX_DATETIME_MS, nullable: false, time: true },
    encode: (r) => Date.parse(r[field]),
    decode: (v) => new Date(v).toISOString(),
    archive: [
      {
        name: field,
        source: `${field}_ms`,
        input: 'BIGINT',
        output: `epoch_ms(${field})::TIMESTAMP_MS`,
        athena: 'timestamp',
        doc,
      },
    ],
  };
}

const strings = z.array(z.string());

/** Tags as stored: sorted and unique (rollups key on the exact set), without a sort when they already are. */
function canonicalTags(tags: readonly string[]): string[] {
  for (let i = 1; i < tags.length; i++)
    if (!((tags[i - 1] as string) < (tags[i] as string))) return normalizeTags(tags);
  return tags.slice();
}

function sortedKeys(metadata: Record<string, string>): string[] {
  const keys = Object.keys(metadata);
  if (keys.length > 1) keys.sort();
  return keys;
}

/** unit_prices as stored: JSON text with sorted keys (one spelling per set of prices). */
export function encodeUnitPrices(prices: UnitPrices): string {
  const keys = Object.keys(prices).sort() as (keyof UnitPrices)[];
  return keys.length ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, prices[k]]))) : '{}';
}

/** unit_prices read back: {} for a row written before the column existed or holding anything else. */
export function decodeUnitPrices(text: string): UnitPrices {
  try {
    const parsed = unitPricesSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

const COST_USD: ArchiveColumn = {
  name: 'cost_usd',
  source: null,
  input: 'BIGINT',
  // Decimal × decimal is exact in DuckDB (no float on the way): nano-USD × 1e-9 → DECIMAL(18,9).
  output: '(cost_nano::DECIMAL(18,0) * 0.000000001::DECIMAL(18,9))::DECIMAL(18,9)',
  athena: 'decimal(18,9)',
  doc: 'cost in USD, exact (cost_nano / 1e9)',
};

/**
 * The columns in the table's order (new columns are appended by their migration, so they come last here
 * and in the archive files, whose readers match Parquet columns by name).
 */
export const SPEND_LOG_COLUMNS = {
  request_id: text('request_id', 'unique id of the call (UUIDv7 from the proxy or the ingest caller’s id)'),
  response_id: optionalText('response_id', 'provider response id (`chatcmpl-…`, `msg_…`)'),
  start_time: {
    type: 'DateTime',
    field: 'start_time',
    read: z.string(),
    check: { kind: 'int', min: 0, max: Math.floor(MAX_DATETIME_MS / 1000), nullable: false, time: true },
    encode: (r) => Math.floor(Date.parse(r.start_time) / 1000),
    decode: null,
    archive: [],
  } satisfies SpendLogColumn<number | string>,
  start_time_ms: msTime('start_time', 'call start, UTC, millisecond precision'),
  end_time_ms: msTime('end_time', 'call end, UTC, millisecond precision'),
  duration_ms: count('duration_ms', 'end − start in ms', 'UInt32'),
  ttft_ms: {
    type: 'Nullable(UInt32)',
    field: 'ttft_ms',
    read: int.nullable(),
    check: { kind: 'int', min: 0, max: UINT.UInt32, nullable: true, time: false },
    encode: (r) => r.ttft_ms,
    decode: (v) => v,
    archive: [archiveInteger('ttft_ms', 'time to first token (streams), else null', 'int')],
  } satisfies SpendLogColumn<number | null>,
  call_type: text('call_type', '`chat`, `completion`, `embedding`, `messages`, …'),
  status: count('status', 'HTTP status returned to the client', 'UInt16'),
  error_type: optionalText('error_type', 'error class when the call failed'),
  key_hash: optionalText('key_hash', 'SHA-256 of the virtual key'),
  key_alias: optionalText('key_alias', 'human name of the key'),
  user_id: optionalText('user_id', 'internal user'),
  team_id: optionalText('team_id', 'team'),
  customer_id: optionalText('customer_id', 'end user / customer'),
  model: text('model', 'model name the client asked for'),
  upstream_model: text('upstream_model', 'model the provider ran'),
  provider: text('provider', 'provider (`openai`, `anthropic`, …)'),
  prompt_tokens: count('prompt_tokens', 'input tokens'),
  completion_tokens: count('completion_tokens', 'output tokens'),
  cached_tokens: count('cached_tokens', 'input tokens read from cache'),
  cache_write_tokens: count('cache_write_tokens', 'input tokens written to cache (5-minute and 1-hour)'),
  reasoning_tokens: count('reasoning_tokens', 'reasoning tokens (part of completion)'),
  total_tokens: count('total_tokens', 'prompt + completion'),
  cost_nano: nano('cost_nano', [
    COST_USD,
    archiveInteger(
      'cost_nano',
      'cost in nano-USD (USD × 1e9), the stored truth: sum this for exact totals (a signed delta on corrections)',
    ),
  ]),
  cost_status: text('cost_status', '`priced`, `custom`, `provided` or `unpriced`'),
  usage_estimated: flag('usage_estimated', 'tokens counted locally, not reported'),
  tags: {
    type: 'Array(String)',
    field: 'tags',
    read: strings,
    check: { kind: 'strings' },
    encode: (r) => canonicalTags(r.tags),
    decode: (v) => v,
    archive: [{ ...archiveText('tags', 'sorted, de-duplicated tags'), input: 'VARCHAR[]', athena: 'array<string>' }],
  } satisfies SpendLogColumn<string[]>,
  // metadata is two parallel arrays (18.16 has no Map), keys sorted.
  metadata_keys: {
    type: 'Array(String)',
    field: 'metadata',
    read: strings,
    check: { kind: 'strings' },
    encode: (r) => sortedKeys(r.metadata),
    decode: (keys, row) => {
      const values = Array.isArray(row.metadata_values) ? row.metadata_values : [];
      return Object.fromEntries(keys.map((k, i) => [k, typeof values[i] === 'string' ? values[i] : '']));
    },
    archive: [
      {
        name: 'metadata',
        source: 'metadata_keys',
        input: 'VARCHAR[]',
        // The values array travels as its own column (metadata_values); 18.16 has no JSON builder. Built pair
        // by pair rather than through a MAP, which rejects a duplicate key: one odd row must never make a
        // whole window unexportable.
        output:
          "'{' || array_to_string(list_transform(list_zip(metadata, metadata_values), " +
          "p -> to_json(p[1])::VARCHAR || ':' || to_json(p[2])::VARCHAR), ',') || '}'",
        athena: 'string',
        doc: "request metadata as a JSON object string (`json_extract_scalar(metadata, '$.k')`)",
      },
    ],
  } satisfies SpendLogColumn<string[]>,
  metadata_values: {
    type: 'Array(String)',
    field: 'metadata',
    read: strings,
    check: { kind: 'strings' },
    encode: (r) => sortedKeys(r.metadata).map((k) => r.metadata[k] as string),
    decode: null,
    archive: [],
  } satisfies SpendLogColumn<string[]>,
  stream: flag('stream', 'streamed response'),
  source: text('source', '`proxy`, `ingest`, `batch` (a Batch API result line) or `correction` (re-pricing)'),
  inserted_at: {
    type: 'DateTime',
    field: null,
    read: z.string(),
    check: { kind: 'none' },
    encode: null,
    decode: null,
    archive: [],
  } satisfies SpendLogColumn<string>,
  // MATERIALIZED (clickhouse/054): computed by ClickHouse from tags, never written.
  tags_hash: {
    type: 'UInt64',
    field: null,
    read: z.string(),
    check: { kind: 'none' },
    encode: null,
    decode: null,
    archive: [],
  } satisfies SpendLogColumn<string>,
  // Issue 19 (clickhouse/056_spend_logs_pricing.sql).
  cache_write_1h_tokens: count('cache_write_1h_tokens', 'the part of cache_write_tokens written with a 1-hour TTL'),
  audio_input_tokens: count('audio_input_tokens', 'audio input tokens (part of prompt)'),
  image_input_tokens: count('image_input_tokens', 'image input tokens (part of prompt)'),
  audio_output_tokens: count('audio_output_tokens', 'audio output tokens (part of completion)'),
  image_output_tokens: count('image_output_tokens', 'image output tokens (part of completion)'),
  web_search_requests: count('web_search_requests', 'web searches the provider charged for'),
  service_tier: text(
    'service_tier',
    'tier the provider served (`default`, `flex`, `priority`, `batch`, …), else empty',
  ),
  list_cost_nano: nano('list_cost_nano', [
    archiveInteger('list_cost_nano', 'cost at list prices in nano-USD, before the deployment’s discount/markup'),
  ]),
  provider_cost_nano: {
    type: 'Nullable(Int64)',
    field: 'provider_cost_nano',
    read: int.nullable(),
    check: { kind: 'int', min: -SAFE, max: SAFE, nullable: true, time: false },
    encode: (r) => r.provider_cost_nano,
    decode: (v) => v,
    archive: [archiveInteger('provider_cost_nano', 'cost the provider reported in nano-USD, else null')],
  } satisfies SpendLogColumn<number | null>,
  price_source: text('price_source', '`catalog`, `config`, `provider`, `caller` or `none`'),
  price_version: text('price_version', 'catalog version or price-book entry that priced the call, else empty'),
  unit_prices: {
    type: 'String',
    field: 'unit_prices',
    read: z.string(),
    check: { kind: 'string' },
    encode: (r) => encodeUnitPrices(r.unit_prices),
    decode: decodeUnitPrices,
    archive: [
      archiveText('unit_prices', 'USD per unit of each priced dimension and the multiplier, a JSON object string'),
    ],
  } satisfies SpendLogColumn<string>,
  corrects_request_id: optionalText('corrects_request_id', 'on a correction record: the request it corrects'),
} as const;

export type SpendLogColumnName = keyof typeof SPEND_LOG_COLUMNS;

/** Columns with their names, in the table's order. */
export const COLUMN_LIST: readonly (SpendLogColumn & { name: SpendLogColumnName })[] = (
  Object.keys(SPEND_LOG_COLUMNS) as SpendLogColumnName[]
).map((name) => ({ ...(SPEND_LOG_COLUMNS[name] as SpendLogColumn), name }));

/** Columns the encoder writes, in the order it writes them (request_id, response_id, start_time first). */
export const WRITTEN_COLUMNS = COLUMN_LIST.filter((c) => c.encode !== null);

/**
 * A record's row: one object literal compiled once from WRITTEN_COLUMNS (the names are the constant keys
 * above, checked to be plain identifiers; no input ever reaches the compiled text). The producer encodes
 * every record: a row built key by key in a loop is a dictionary-mode object that costs ~2.5× as much to
 * build and stringify (measured 31 vs 12 µs a record, JSON.stringify included) as the literal.
 */
export const encodeRow = compileEncoder();

function compileEncoder(): (record: SpendRecord) => WrittenRow {
  const encoders = WRITTEN_COLUMNS.map((c) => c.encode);
  const fields = WRITTEN_COLUMNS.map(({ name }, i) => {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`spend_logs column name ${name} is not an identifier`);
    return `${name}: e[${i}](record)`;
  });
  return new Function('e', `return (record) => ({ ${fields.join(', ')} });`)(encoders);
}

/** Columns a record is decoded from, in the table's order (metadata_keys reads metadata_values beside it). */
export const RECORD_COLUMNS = COLUMN_LIST.filter((c) => c.decode !== null);

const readShape = Object.fromEntries(COLUMN_LIST.map((c) => [c.name, c.read])) as {
  [K in SpendLogColumnName]: Columns[K]['read'];
};

/**
 * A stored call as ClickHouse's JSON sends it: every column but the ones derived from others (start_time,
 * tags_hash) and inserted_at. The logs endpoints select exactly these (Object.keys of its shape).
 */
export const storedRowSchema = z.object(readShape).omit({ start_time: true, inserted_at: true, tags_hash: true });
export type StoredRow = z.infer<typeof storedRowSchema>;

type Columns = typeof SPEND_LOG_COLUMNS;

/**
 * A spend_logs row as the encoder writes it: every column but inserted_at (the worker stamps it) and
 * tags_hash (ClickHouse computes it).
 */
export type WrittenRow = {
  [K in SpendLogColumnName as Columns[K]['encode'] extends null ? never : K]: ReturnType<
    NonNullable<Columns[K]['encode']>
  >;
};
