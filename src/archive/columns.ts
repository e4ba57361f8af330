// The archive schema, once: how each public column is read from ClickHouse's spend_logs, typed while DuckDB
// loads it, shaped for Parquet, and declared to Athena. The exporter, the Athena DDL and docs/archive.md
// all follow this list, so the three can never disagree.
//
// ClickHouse sends the columns as CSV, in this order and without a header: of the formats 18.16 writes, it
// is the one DuckDB loads fastest (see bench/archive.ts). Arrays travel as DuckDB list literals built in
// ClickHouse (every element quoted, only `\` and `'` escaped), which DuckDB casts back to VARCHAR[] exactly.
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

const nullIfEmpty = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: `nullIf(${name}, '')`,
  input: 'VARCHAR',
  output: null,
  athena: 'string',
  doc,
});

const text = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: name,
  input: 'VARCHAR',
  output: null,
  athena: 'string',
  doc,
});

const count = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: name,
  input: 'BIGINT',
  output: null,
  athena: 'bigint',
  doc,
});

const msTimestamp = (name: string, source: string, doc: string): ArchiveColumn => ({
  name,
  source,
  input: 'BIGINT',
  output: `epoch_ms(${name})::TIMESTAMP_MS`,
  athena: 'timestamp',
  doc,
});

export const ARCHIVE_COLUMNS: readonly ArchiveColumn[] = [
  text('request_id', 'unique id of the call (UUIDv7 from the proxy or the ingest caller’s id)'),
  nullIfEmpty('response_id', 'provider response id (`chatcmpl-…`, `msg_…`)'),
  msTimestamp('start_time', 'start_time_ms', 'call start, UTC, millisecond precision'),
  msTimestamp('end_time', 'end_time_ms', 'call end, UTC, millisecond precision'),
  { ...count('duration_ms', 'end − start in ms'), input: 'INTEGER', athena: 'int' },
  { ...count('ttft_ms', 'time to first token (streams), else null'), input: 'INTEGER', athena: 'int' },
  text('call_type', '`chat`, `completion`, `embedding`, `messages`, …'),
  { ...count('status', 'HTTP status returned to the client'), input: 'INTEGER', athena: 'int' },
  nullIfEmpty('error_type', 'error class when the call failed'),
  nullIfEmpty('key_hash', 'SHA-256 of the virtual key'),
  nullIfEmpty('key_alias', 'human name of the key'),
  nullIfEmpty('user_id', 'internal user'),
  nullIfEmpty('team_id', 'team'),
  nullIfEmpty('customer_id', 'end user / customer'),
  text('model', 'model name the client asked for'),
  text('upstream_model', 'model the provider ran'),
  text('provider', 'provider (`openai`, `anthropic`, …)'),
  count('prompt_tokens', 'input tokens'),
  count('completion_tokens', 'output tokens'),
  count('cached_tokens', 'input tokens read from cache'),
  count('cache_write_tokens', 'input tokens written to cache'),
  count('reasoning_tokens', 'reasoning tokens (part of completion)'),
  count('total_tokens', 'prompt + completion'),
  {
    name: 'cost_usd',
    source: null,
    input: 'BIGINT',
    // Decimal × decimal is exact in DuckDB (no float on the way): nano-USD × 1e-9 → DECIMAL(18,9).
    output: '(cost_nano::DECIMAL(18,0) * 0.000000001::DECIMAL(18,9))::DECIMAL(18,9)',
    athena: 'decimal(18,9)',
    doc: 'cost in USD, exact (cost_nano / 1e9)',
  },
  count('cost_nano', 'cost in nano-USD (USD × 1e9), the stored truth: sum this for exact totals'),
  text('cost_status', '`priced`, `custom`, `provided` or `unpriced`'),
  { ...count('usage_estimated', 'tokens counted locally, not reported'), input: 'BOOLEAN', athena: 'boolean' },
  { ...text('tags', 'sorted, de-duplicated tags'), input: 'VARCHAR[]', athena: 'array<string>' },
  {
    name: 'metadata',
    source: 'metadata_keys',
    input: 'VARCHAR[]',
    // The values array travels as its own column (METADATA_VALUES); 18.16 has no JSON builder. Built pair by
    // pair rather than through a MAP, which rejects a duplicate key: one odd row must never make a whole
    // window unexportable.
    output:
      "'{' || array_to_string(list_transform(list_zip(metadata, metadata_values), " +
      "p -> to_json(p[1])::VARCHAR || ':' || to_json(p[2])::VARCHAR), ',') || '}'",
    athena: 'string',
    doc: "request metadata as a JSON object string (`json_extract_scalar(metadata, '$.k')`)",
  },
  { ...count('stream', 'streamed response'), input: 'BOOLEAN', athena: 'boolean' },
  text('source', '`proxy` or `ingest`'),
];

/** Longest CSV row DuckDB accepts (a row with megabytes of metadata); read_json's default before was 16 MiB. */
const MAX_ROW_BYTES = 16 * 1024 * 1024;

/** metadata is two parallel arrays in ClickHouse; the values array rides along as one more input. */
const METADATA_VALUES = { name: 'metadata_values', source: 'metadata_values', input: 'VARCHAR[]' };

export interface ArchiveInput {
  name: string;
  source: string;
  input: string;
}

/** What ClickHouse sends, in CSV order: every column with a source, then the metadata values. */
export function archiveInputs(): ArchiveInput[] {
  const sent = ARCHIVE_COLUMNS.flatMap((c) => (c.source === null ? [] : [{ ...c, source: c.source }]));
  return [...sent, METADATA_VALUES];
}

/** `['a','it\'s']`: the array as a DuckDB list literal. Raw control bytes stay as they are (quoted). */
function listLiteral(expr: string): string {
  const quoted = String.raw`concat('\'', replaceAll(replaceAll(x, '\\', '\\\\'), '\'', '\\\''), '\'')`;
  return `concat('[', arrayStringConcat(arrayMap(x -> ${quoted}, ${expr}), ','), ']')`;
}

/** The ClickHouse select list, in the CSV's column order. */
export function clickhouseSelectList(): string {
  return archiveInputs()
    .map((c) => (c.input === 'VARCHAR[]' ? listLiteral(c.source) : c.source))
    .join(', ');
}

/**
 * DuckDB query over ClickHouse's CSV (`pathLiteral`: a quoted DuckDB string) yielding the archived columns.
 * ClickHouse always quotes strings and writes NULL as a bare `\N`, so a quoted `"\N"` stays text. The
 * explicit buffer keeps the 16 MiB row limit from growing DuckDB's read buffers (16 × the limit by default).
 */
export function duckdbArchiveRows(pathLiteral: string): string {
  const all = archiveInputs();
  const columns = all.map((c) => `${c.name}: '${c.input === 'VARCHAR[]' ? 'VARCHAR' : c.input}'`).join(', ');
  const casts = all.filter((c) => c.input === 'VARCHAR[]').map((c) => `${c.name}::VARCHAR[] AS ${c.name}`);
  const csv =
    `read_csv(${pathLiteral}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `nullstr = '\\N', allow_quoted_nulls = false, max_line_size = ${MAX_ROW_BYTES}, buffer_size = ${2 * MAX_ROW_BYTES}, columns = {${columns}})`;
  return `SELECT ${duckdbOutputList()} FROM (SELECT * REPLACE (${casts.join(', ')}) FROM ${csv})`;
}

/** DuckDB select list producing the archived columns from the loaded inputs (arrays already VARCHAR[]). */
export function duckdbOutputList(): string {
  return ARCHIVE_COLUMNS.map((c) => (c.output === null ? c.name : `${c.output} AS ${c.name}`)).join(', ');
}
