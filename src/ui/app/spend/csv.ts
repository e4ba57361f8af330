// CSV of exactly what the Spend tab shows: the totals, the time series and every breakdown table, one
// section per block, money as the exact decimal strings the query API returned. A breakdown row carries its
// id (`value`) and, for teams, users, keys and customers, the alias shown (`name`, the last column).
import { csvText } from '../../../csvText.js';
import { isNamed, nameOf } from '../names.js';
import type { NamedResult } from './BreakdownCard.js';
import type { Breakdown, QueryResult, TagFilter, Window } from './spendApi.js';

export function spendCsv(
  window: Window,
  tags: TagFilter,
  totals: QueryResult | null,
  series: QueryResult | null,
  breakdowns: Partial<Record<Breakdown, NamedResult>>,
): string {
  const lines: string[][] = [];
  lines.push([
    'section',
    'dimension',
    'value',
    'cost_usd',
    'requests',
    'total_tokens',
    'errors',
    'unpriced_requests',
    'name',
  ]);
  const filter = [
    `from=${window.from}`,
    `to=${window.to}`,
    ...(['all', 'any', 'none'] as const).filter((m) => tags[m].length).map((m) => `tags.${m}=${tags[m].join('|')}`),
  ];
  lines.push(['filter', '', filter.join(' '), '', '', '', '', '', '']);
  if (totals) {
    const t = totals.totals;
    lines.push([
      'totals',
      '',
      '',
      t.cost_usd ?? '',
      String(t.requests ?? ''),
      String(t.total_tokens ?? ''),
      String(t.errors ?? ''),
      String(t.unpriced_requests ?? ''),
      '',
    ]);
  }
  for (const row of series?.rows ?? []) {
    lines.push(['time', 'bucket', row.bucket ?? '', row.cost_usd ?? '', String(row.requests ?? ''), '', '', '', '']);
  }
  for (const [dimension, answer] of Object.entries(breakdowns)) {
    for (const row of answer?.result.rows ?? []) {
      const value = row[dimension as Breakdown];
      const name = answer && isNamed(dimension) ? nameOf(answer.names, dimension, value) : null;
      // A tag breakdown says how it counted calls with several tags (docs/query-api.md tag_attribution).
      const label = dimension === 'tag' ? `tag (${answer?.result.tag_attribution ?? 'overlap'})` : dimension;
      lines.push([
        'breakdown',
        label,
        value ?? '',
        row.cost_usd ?? '',
        String(row.requests ?? ''),
        String(row.total_tokens ?? ''),
        '',
        '',
        name ?? '',
      ]);
    }
  }
  return csvText(lines);
}

export function download(filename: string, body: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
