// One breakdown (by team, user, key, …): rows with cost, requests, tokens and a bar relative to the top row.
// Each card asks for its own data once it scrolls into view, so a range change costs only the visible ones.
// Team, user, key and customer rows are labelled with their aliases (one names look-up per card answer);
// the id stays in the row's tooltip and, but for key hashes, in small print beside the name.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Bar, Empty, ErrorBox, Loading, staleClass, useAsync, useSeen } from '../components.js';
import { num, usd } from '../format.js';
import { fetchNames, isNamed, type NameBook, NO_NAMES, nameOf } from '../names.js';
import {
  BREAKDOWN_METRICS,
  type Breakdown,
  type QueryResult,
  type QueryRow,
  querySpend,
  type TagAttribution,
  type TagFilter,
  type Window,
} from './spendApi.js';

const TITLES: Record<Breakdown, string> = {
  team: 'Team',
  user: 'User',
  key: 'Key',
  customer: 'Customer',
  model: 'Model',
  provider: 'Provider',
  tag: 'Tag',
};

export function labelOf(dimension: Breakdown, value: string | null | undefined, names: NameBook): string {
  if (value === null || value === undefined || value === '') return dimension === 'tag' ? '(untagged)' : '(none)';
  const name = isNamed(dimension) ? nameOf(names, dimension, value) : null;
  if (name) return name;
  return dimension === 'key' ? `${value.slice(0, 10)}…` : value;
}

/** A breakdown's answer with the names of its rows. */
export interface NamedResult {
  result: QueryResult;
  names: NameBook;
}

export interface BreakdownCardProps {
  dimension: Breakdown;
  window: Window;
  tags: TagFilter;
  /** Bumped by the Refresh button. */
  refresh: number;
  /** Reports each answer (for the CSV of what is shown). */
  onResult: (dimension: Breakdown, answer: NamedResult) => void;
}

export function BreakdownCard({ dimension, window, tags, refresh, onResult }: BreakdownCardProps) {
  const ref = useRef<HTMLElement>(null);
  const seen = useSeen(ref);
  const [attribution, setAttribution] = useState<TagAttribution>('overlap');
  const [state, reload] = useAsync(
    async (signal): Promise<NamedResult | null> => {
      if (!seen) return null;
      const result = await querySpend(
        window,
        tags,
        {
          group_by: [dimension],
          metrics: BREAKDOWN_METRICS,
          limit: 10,
          ...(dimension === 'tag' ? { tag_attribution: attribution } : {}),
        },
        signal,
      );
      const names = isNamed(dimension)
        ? await fetchNames({ [dimension]: result.rows.map((r) => r[dimension]) }, signal)
        : NO_NAMES;
      return { result, names };
    },
    [seen, JSON.stringify([window, tags]), refresh, attribution],
  );
  useEffect(() => {
    if (state.status === 'ok' && state.data && !state.stale) onResult(dimension, state.data);
  }, [state, dimension, onResult]);
  return (
    <section
      ref={ref}
      class={`card breakdown ${staleClass(state)}`}
      aria-label={`Spend by ${TITLES[dimension].toLowerCase()}`}
      aria-busy={state.status === 'loading' || staleClass(state) !== ''}
    >
      <h3>By {TITLES[dimension].toLowerCase()}</h3>
      {dimension === 'tag' && <AttributionToggle value={attribution} onChange={setAttribution} />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={reload} />}
      {(state.status === 'loading' || (state.status === 'ok' && !state.data)) && <Loading />}
      {state.status === 'ok' && state.data && (
        <BreakdownRows dimension={dimension} rows={state.data.result.rows} names={state.data.names} />
      )}
    </section>
  );
}

const ATTRIBUTIONS: { id: TagAttribution; label: string; title: string }[] = [
  { id: 'overlap', label: 'Overlapping', title: 'A call with several tags counts in full under each of them' },
  {
    id: 'split',
    label: 'Split',
    title: 'A call with several tags is divided among them: the rows add up to the total',
  },
];

function AttributionToggle({ value, onChange }: { value: TagAttribution; onChange: (v: TagAttribution) => void }) {
  return (
    <fieldset class="segmented small">
      <legend class="sr-only">Tag attribution</legend>
      {ATTRIBUTIONS.map((a) => (
        <button type="button" key={a.id} title={a.title} aria-pressed={value === a.id} onClick={() => onChange(a.id)}>
          {a.label}
        </button>
      ))}
    </fieldset>
  );
}

function BreakdownRows({ dimension, rows, names }: { dimension: Breakdown; rows: QueryRow[]; names: NameBook }) {
  const top = Math.max(...rows.map((r) => Number(r.cost_usd ?? 0)), 0);
  return (
    <>
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
              const label = labelOf(dimension, value, names);
              // Keys: the hash is in the tooltip only (it would crowd the narrow card).
              const named =
                value && dimension !== 'key' && isNamed(dimension) && nameOf(names, dimension, value) !== null;
              return (
                <tr key={value ?? ''}>
                  <td class="label-cell" title={value ?? ''}>
                    <span class="truncate">
                      {label}
                      {named && value && <span class="muted small"> {value}</span>}
                    </span>
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
    </>
  );
}
