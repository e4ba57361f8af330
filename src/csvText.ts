// CSV text (RFC 4180 quoting, CRLF line ends) with spreadsheet formulas neutralised: the server's CSV reports
// (src/query/csv.ts, showback) and the dashboard's CSV downloads (src/ui/app: Spend, Logs) all write it here.

/** A cell that is one number as these CSVs write it: an integer, a decimal, a JS number with an exponent. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
/** What a spreadsheet reads as the start of a formula (OWASP CSV injection: = + - @ tab CR). */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // A formula-leading cell is prefixed with a quote to keep it text — unless the whole cell is a number
  // (a negative cost): `-1+cmd|' /C calc'!A0` starts like one but is a formula.
  const safe = FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** RFC 4180 text of rows of cells (CRLF line ends), formula-leading cells neutralised. */
export function csvText(lines: readonly (readonly unknown[])[]): string {
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
