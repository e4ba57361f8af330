// CSV rendering of a /spend/query result (RFC 4180 quoting). The last line is the totals row, marked in
// the leading `row_type` column, so a spreadsheet sum over `group` rows can be checked against it.
import type { ResultRow, SpendQueryResult } from './engine.js';

/** A cell that is one number as these CSVs write it: an integer, a decimal, a JS number with an exponent. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
/** What a spreadsheet reads as the start of a formula (OWASP CSV injection: = + - @ tab CR). */
const FORMULA_START = /^[=+\-@\t\r]/;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // A formula-leading cell is prefixed with a quote to keep it text — unless the whole cell is a number
  // (a negative cost): `-1+cmd|' /C calc'!A0` starts like one but is a formula.
  const safe = FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** RFC 4180 text (CRLF line ends) of rows of cells, formula-leading cells neutralised. */
export function csvText(lines: readonly (readonly unknown[])[]): string {
  return `${lines.map((l) => l.map(cell).join(',')).join('\r\n')}\r\n`;
}

export function resultToCsv(result: SpendQueryResult): string {
  const metricColumns = result.metrics.flatMap((m) => (m === 'cost' ? ['cost_usd', 'cost_nano'] : [m]));
  const columns = [
    ...(result.granularity !== 'none' ? ['bucket'] : []),
    ...result.group_by,
    ...metricColumns,
  ] as (keyof ResultRow)[];
  const line = (type: string, row: ResultRow) => [type, ...columns.map((c) => row[c])];
  return csvText([['row_type', ...columns], ...result.rows.map((r) => line('group', r)), line('total', result.totals)]);
}
