// The archive schema: how each public column is read from ClickHouse's spend_logs, typed while DuckDB
// loads it, shaped for Parquet, and declared to Athena — declared with the table's columns in
// src/spendLogColumns.ts. The exporter, the Athena DDL and docs/archive.md all follow ARCHIVE_COLUMNS, so
// the three can never disagree.
//
// ClickHouse sends the columns as CSV, in this order and without a header: of the formats 18.16 writes, it
// is the one DuckDB loads fastest (see bench/archive.ts). Arrays travel as DuckDB list literals built in
// ClickHouse (every element quoted, only `\` and `'` escaped), which DuckDB casts back to VARCHAR[] exactly.
import { type ArchiveColumn, COLUMN_LIST } from '../spendLogColumns.js';

/** Every archived column, in spend_logs' order (each column's `archive` entries in src/spendLogColumns.ts). */
export const ARCHIVE_COLUMNS: readonly ArchiveColumn[] = COLUMN_LIST.flatMap((c) => c.archive);

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
