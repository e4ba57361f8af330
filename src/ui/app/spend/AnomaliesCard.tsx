// Admins' list of unusual spend in the Spend tab's range (GET /spend/anomalies, docs/finops.md): each day
// (or, for an hourly range, each hour) a team, key, model or tag spent far above its own baseline.

import { useEffect } from 'preact/hooks';
import type { Anomaly } from '../../../anomalies/service.js';
// The API's own bounds (a pure module, so the bundle may carry it).
import { ANOMALY_WINDOWS, anomalyBuckets } from '../../../anomalies/window.js';
import { get, qs } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, staleClass, useAsync } from '../components.js';
import { dateTime, usd } from '../format.js';
import type { Window } from './spendApi.js';

interface AnomaliesAnswer {
  granularity: 'day' | 'hour';
  buckets: string[];
  z_threshold: number;
  anomalies: Anomaly[];
}

const SHOWN = 20;
const UNIT_MS = { h: 3_600_000, d: 86_400_000 } as const;

/** A window bound as epoch ms: `now`, `-24h` / `-7d`, a date (UTC midnight) or an ISO instant; null if unknown. */
function boundMs(text: string, nowMs: number): number | null {
  if (text === 'now') return nowMs;
  const relative = /^-(\d+)([hd])$/.exec(text);
  if (relative) return nowMs - Number(relative[1]) * UNIT_MS[relative[2] as 'h' | 'd'];
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The most buckets the card may ask GET /spend/anomalies for when `window` holds more than that (the API
 * would answer 400), else null. Weekly and monthly charts are always longer than 31 days; a window the card
 * cannot read is left to the API.
 */
export function anomalyRangeLimit(window: Window, nowMs = Date.now()): { max: number; unit: 'day' | 'hour' } | null {
  const granularity = window.granularity === 'hour' ? 'hour' : 'day';
  const max = ANOMALY_WINDOWS[granularity].maxBuckets;
  if (window.granularity === 'week' || window.granularity === 'month') return { max, unit: granularity };
  const fromMs = boundMs(window.from, nowMs);
  const toMs = boundMs(window.to, nowMs);
  if (fromMs === null || toMs === null || toMs <= fromMs) return null;
  return anomalyBuckets(granularity, fromMs, toMs, nowMs).count > max ? { max, unit: granularity } : null;
}

export function AnomaliesCard({
  window,
  refresh,
  onMarks,
}: {
  window: Window;
  refresh: number;
  /** The buckets (epoch s) with an anomaly, for the cost chart's markers. */
  onMarks: (marks: ReadonlySet<number>) => void;
}) {
  const granularity = window.granularity === 'hour' ? 'hour' : 'day';
  // The API judges at most 31 days or 48 hours at once: a longer range is not asked for.
  const tooLong = anomalyRangeLimit(window);
  const [state, reload] = useAsync(
    (signal) =>
      tooLong
        ? Promise.resolve(null)
        : get<AnomaliesAnswer>(`/spend/anomalies${qs({ granularity, from: window.from, to: window.to })}`, signal),
    [JSON.stringify(window), refresh],
  );
  useEffect(() => {
    if (state.status === 'loading' || (state.status === 'ok' && state.stale)) return;
    const anomalies = state.status === 'ok' ? (state.data?.anomalies ?? []) : [];
    onMarks(new Set(anomalies.map((a) => Date.parse(a.bucket) / 1000)));
  }, [state, onMarks]);
  return (
    <section class={`card ${staleClass(state)}`} aria-label="Unusual spend">
      <h3>Unusual spend</h3>
      {state.status === 'loading' && <Loading />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={reload} />}
      {state.status === 'ok' && state.data === null && tooLong && (
        <Empty>
          Pick a range of at most {tooLong.max} {tooLong.unit}s.
        </Empty>
      )}
      {state.status === 'ok' &&
        state.data !== null &&
        (state.data.anomalies.length === 0 ? (
          <Empty>
            Nothing unusual in the {state.data.buckets.length} complete {granularity}s of this range.
          </Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{granularity === 'day' ? 'Day' : 'Hour'}</th>
                <th scope="col">What</th>
                <th scope="col" class="num">
                  Spent
                </th>
                <th scope="col" class="num">
                  Usually
                </th>
                <th scope="col" class="num hide-sm">
                  Score
                </th>
              </tr>
            </thead>
            <tbody>
              {state.data.anomalies.slice(0, SHOWN).map((a) => (
                <tr key={`${a.bucket} ${a.dimension} ${a.value}`}>
                  <td>{granularity === 'day' ? a.bucket.slice(0, 10) : dateTime(a.bucket)}</td>
                  <td class="label-cell" title={a.value}>
                    <span class="truncate">
                      <Badge kind="neutral">{a.dimension}</Badge>{' '}
                      {a.dimension === 'key' ? `${a.value.slice(0, 10)}…` : a.value}
                    </span>
                  </td>
                  <td class="num">{usd(a.cost_usd)}</td>
                  <td class="num">{usd(a.expected_usd)}</td>
                  <td class="num hide-sm">
                    <Badge kind="warn">{a.score}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
