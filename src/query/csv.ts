// CSV rendering of a /spend/query result (RFC 4180 quoting). The last line is the totals row, marked in
// the leading `row_type` column, so a spreadsheet sum over `group` rows can be checked against it.
import { csvText } from '../csvText.js';
import type { ResultRow, SpendQueryResult } from './engine.js';

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
