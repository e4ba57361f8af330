// One breakdown (by team, user, key, …): rows with cost, requests, tokens and a bar relative to the top row.
import { Bar, Empty } from '../components.js';
import { num, usd } from '../format.js';
import type { Breakdown, QueryRow } from './spendApi.js';

const TITLES: Record<Breakdown, string> = {
  team: 'Team',
  user: 'User',
  key: 'Key',
  customer: 'Customer',
  model: 'Model',
  provider: 'Provider',
  tag: 'Tag',
};

export function labelOf(
  dimension: Breakdown,
  value: string | null | undefined,
  keyAliases: Map<string, string>,
): string {
  if (value === null || value === undefined || value === '') return dimension === 'tag' ? '(untagged)' : '(none)';
  if (dimension === 'key') return keyAliases.get(value) ?? `${value.slice(0, 10)}…`;
  return value;
}

export function BreakdownTable({
  dimension,
  rows,
  keyAliases,
}: {
  dimension: Breakdown;
  rows: QueryRow[];
  keyAliases: Map<string, string>;
}) {
  const top = Math.max(...rows.map((r) => Number(r.cost_usd ?? 0)), 0);
  return (
    <section class="card breakdown" aria-label={`Spend by ${TITLES[dimension].toLowerCase()}`}>
      <h3>
        By {TITLES[dimension].toLowerCase()}
        {dimension === 'tag' && (
          <span class="muted small" title="A call with several tags counts once under each of them">
            {' '}
            (overlapping)
          </span>
        )}
      </h3>
      {rows.length === 0 ? (
        <Empty>No calls.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{TITLES[dimension]}</th>
              <th scope="col" class="num">
                Cost
              </th>
              <th scope="col" class="num hide-sm">
                Requests
              </th>
              <th scope="col" class="num hide-sm">
                Tokens
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const value = row[dimension];
              const label = labelOf(dimension, value, keyAliases);
              return (
                <tr key={value ?? ''}>
                  <td class="label-cell" title={value ?? ''}>
                    <span class="truncate">{label}</span>
                    <Bar share={top > 0 ? Number(row.cost_usd ?? 0) / top : 0} />
                  </td>
                  <td class="num">{usd(row.cost_usd)}</td>
                  <td class="num hide-sm">{num(row.requests)}</td>
                  <td class="num hide-sm">{num(row.total_tokens)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
