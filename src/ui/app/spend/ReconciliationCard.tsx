// Admins' table of the providers' bills beside Spendhouse's figures (GET /spend/reconciliation,
// docs/finops.md): per day × provider × model the provider's figure, Spendhouse's and the drift, over the
// Spend tab's range, with the last import's outcome per provider above it.
import type { ReconciliationRow } from '../../../reconciliation/report.js';
import type { ImportStatus } from '../../../reconciliation/service.js';
import { get, qs } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, staleClass, useAsync } from '../components.js';
import { ago, usd } from '../format.js';
import type { Window } from './spendApi.js';

interface ReconciliationAnswer {
  from: string;
  to: string;
  providers: string[];
  imports: ImportStatus[];
  rows: ReconciliationRow[];
}

/** Drift beyond this share of the provider's figure is shown as a warning. */
const WARN_PERCENT = 5;

export function ReconciliationCard({ window, refresh }: { window: Window; refresh: number }) {
  const [state, reload] = useAsync(
    (signal) => get<ReconciliationAnswer>(`/spend/reconciliation${qs({ from: window.from, to: window.to })}`, signal),
    [JSON.stringify(window), refresh],
  );
  // Without an admin key configured there is nothing to reconcile: the card stays out of the way.
  if (state.status === 'ok' && state.data.providers.length === 0) return null;
  return (
    <section class={`card ${staleClass(state)}`} aria-label="Provider bill reconciliation">
      <h3>Provider bill reconciliation</h3>
      {state.status === 'loading' && <Loading />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={reload} />}
      {state.status === 'ok' && (
        <>
          <p class="small">
            {state.data.imports.map((i) => (
              <span key={i.provider} title={i.error ?? i.skipped.join('\n')}>
                <Badge kind={i.ok ? 'good' : 'bad'}>{i.provider}</Badge> imported {ago(i.at)}
                {i.ok ? (i.skipped.length ? ` (${i.skipped.length} lines skipped)` : '') : `: ${i.error}`}{' '}
              </span>
            ))}
          </p>
          <ReconciliationTable rows={state.data.rows} />
        </>
      )}
    </section>
  );
}

function ReconciliationTable({ rows }: { rows: ReconciliationRow[] }) {
  if (rows.length === 0) return <Empty>Nothing billed or spent in this range.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Day</th>
          <th scope="col">Provider</th>
          <th scope="col">Model / line item</th>
          <th scope="col" class="num">
            Provider
          </th>
          <th scope="col" class="num">
            Spendhouse
          </th>
          <th scope="col" class="num">
            Drift
          </th>
          <th scope="col" class="num hide-sm">
            Drift %
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const label = row.model ?? row.line_items[0] ?? '—';
          const detail = [...row.line_items, ...row.spendhouse_models.map((m) => `Spendhouse: ${m}`)].join('\n');
          const warn = row.drift_percent !== null && Math.abs(Number(row.drift_percent)) > WARN_PERCENT;
          return (
            <tr key={`${row.day} ${row.provider} ${label}`}>
              <td>{row.day}</td>
              <td>{row.provider}</td>
              <td class="label-cell" title={detail}>
                <span class="truncate">{label}</span>
              </td>
              <td class="num" title={row.provider_cost_usd ?? 'not imported'}>
                {row.provider_cost_usd === null ? 'not imported' : usd(row.provider_cost_usd)}
              </td>
              <td class="num" title={row.spendhouse_cost_usd}>
                {usd(row.spendhouse_cost_usd)}
              </td>
              <td class="num" title={row.drift_usd ?? ''}>
                {usd(row.drift_usd)}
              </td>
              <td class="num hide-sm">
                {row.drift_percent === null ? (
                  '—'
                ) : (
                  <Badge kind={warn ? 'warn' : 'neutral'}>{row.drift_percent}%</Badge>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
