// The archive schema, once: how each public column is read from ClickHouse's spend_logs, typed while DuckDB
// loads it, shaped for Parquet, and declared to Athena. The exporter, the Athena DDL and docs/archive.md
// all follow this list, so the three can never disagree.
//
// ClickHouse sends each column under a short alias (c0, c1, …): JSONEachRow repeats every key on every
// row, and short keys halve the bytes ClickHouse formats and DuckDB parses.
export interface ArchiveColumn {
  name: string;
  /** ClickHouse expression over spend_logs (a constant, never user input). */
  source: string;
  /** DuckDB type of the JSON value as ClickHouse sends it. */
  input: string;
  /** DuckDB expression turning the input alias (`$`) into the archived value; `$` alone = as is. */
  output: string;
  /** Athena / Hive type of the Parquet column. */
  athena: string;
  doc: string;
}

const nullIfEmpty = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: `nullIf(${name}, '')`,
  input: 'VARCHAR',
  output: '$',
  athena: 'string',
  doc,
});

const text = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: name,
  input: 'VARCHAR',
  output: '$',
  athena: 'string',
  doc,
});

const count = (name: string, doc: string): ArchiveColumn => ({
  name,
  source: name,
  input: 'BIGINT',
  output: '$',
  athena: 'bigint',
  doc,
});

const msTimestamp = (name: string, source: string, doc: string): ArchiveColumn => ({
  name,
  source,
  input: 'BIGINT',
  output: 'epoch_ms($)::TIMESTAMP_MS',
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
    source: 'cost_nano',
    input: 'BIGINT',
    // Decimal × decimal is exact in DuckDB (no float on the way): nano-USD × 1e-9 → DECIMAL(18,9).
    output: '($::DECIMAL(18,0) * 0.000000001::DECIMAL(18,9))::DECIMAL(18,9)',
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
    // The values array travels as its own column (see METADATA_VALUES_ALIAS); 18.16 has no JSON builder.
    // Built pair by pair rather than through a MAP, which rejects a duplicate key: one odd row must never
    // make a whole window unexportable.
    output:
      "'{' || array_to_string(list_transform(range(1, len($) + 1), " +
      "i -> to_json($[i])::VARCHAR || ':' || to_json($values[i])::VARCHAR), ',') || '}'",
    athena: 'string',
    doc: "request metadata as a JSON object string (`json_extract_scalar(metadata, '$.k')`)",
  },
  { ...count('stream', 'streamed response'), input: 'BOOLEAN', athena: 'boolean' },
  text('source', '`proxy` or `ingest`'),
];

/** metadata is two parallel arrays in ClickHouse; the values array rides along under this alias. */
export const METADATA_VALUES_ALIAS = 'mv';

export function aliasOf(index: number): string {
  return `c${index}`;
}

/** `request_id AS c0, nullIf(response_id, '') AS c1, …, metadata_values AS mv` */
export function clickhouseSelectList(): string {
  const parts = ARCHIVE_COLUMNS.map((c, i) => `${c.source} AS ${aliasOf(i)}`);
  return [...parts, `metadata_values AS ${METADATA_VALUES_ALIAS}`].join(', ');
}

/** DuckDB `columns={…}` argument for read_json over ClickHouse's output. */
export function duckdbInputColumns(): string {
  const parts = ARCHIVE_COLUMNS.map((c, i) => `${aliasOf(i)}: '${c.input}'`);
  return `{${[...parts, `${METADATA_VALUES_ALIAS}: 'VARCHAR[]'`].join(', ')}}`;
}

/** DuckDB select list producing the archived columns from the aliases. */
export function duckdbOutputList(): string {
  return ARCHIVE_COLUMNS.map((c, i) => {
    const expr = c.output.replaceAll('$values', METADATA_VALUES_ALIAS).replaceAll('$', aliasOf(i));
    return `${expr} AS ${c.name}`;
  }).join(', ');
}
