// The Spend tab: date range + tag combination → totals, cost over time and seven breakdowns, every
// number from POST /spend/query, and a CSV of what is shown.
import { useCallback, useRef, useState } from 'preact/hooks';
import type { SessionInfo } from '../api.js';
import { ErrorBox, Loading, staleClass, useAsync } from '../components.js';
import { num, usd } from '../format.js';
import { AnomaliesCard } from './AnomaliesCard.js';
import { BreakdownCard, type NamedResult } from './BreakdownCard.js';
import { CostChart, chartSeries } from './CostChart.js';
import { download, spendCsv } from './csv.js';
import { DateRange, PRESETS } from './DateRange.js';
import { ReconciliationCard } from './ReconciliationCard.js';
import { BREAKDOWNS, type Breakdown, querySpend, type TagFilter, TOTAL_METRICS, type Window } from './spendApi.js';
import { NO_TAGS, TagPicker } from './TagPicker.js';

export function SpendTab({ session }: { session: SessionInfo }) {
  const [rangeId, setRangeId] = useState('7d');
  const [window, setWindow] = useState<Window>(() => (PRESETS[1] ?? PRESETS[0])!.window());
  const [tags, setTags] = useState<TagFilter>(NO_TAGS);
  const filterKey = JSON.stringify([window, tags]);

  const [main, reloadMain] = useAsync(
    async (signal) => {
      const [totals, series] = await Promise.all([
        querySpend(window, tags, { metrics: TOTAL_METRICS }, signal),
        querySpend(
          window,
          tags,
          { granularity: window.granularity, metrics: ['cost', 'requests'], limit: 5000 },
          signal,
        ),
      ]);
      return { totals, series, chart: chartSeries(series.rows, window.granularity, series.from, series.to) };
    },
    [filterKey],
  );
  const [refresh, setRefresh] = useState(0);
  const [marks, setMarks] = useState<ReadonlySet<number>>(() => new Set());
  // Latest answer of each breakdown card, tagged with the filter it answered (CSV takes only current ones).
  const shownBreakdowns = useRef<Partial<Record<Breakdown, { filterKey: string; answer: NamedResult }>>>({});
  const onBreakdown = useCallback(
    (d: Breakdown, answer: NamedResult) => {
      shownBreakdowns.current[d] = { filterKey: JSON.stringify([window, tags]), answer };
    },
    [window, tags],
  );
  // Tags seen in the window (unfiltered) feed the picker's suggestions.
  const [knownTags] = useAsync(
    (signal) => querySpend(window, NO_TAGS, { group_by: ['tag'], metrics: ['requests'], limit: 500 }, signal),
    [JSON.stringify(window)],
  );
  const known = knownTags.status === 'ok' ? knownTags.data.rows.map((r) => r.tag).filter((t): t is string => !!t) : [];

  const exportCsv = () => {
    if (main.status !== 'ok') return;
    const shown: Partial<Record<Breakdown, NamedResult>> = {};
    for (const d of BREAKDOWNS) {
      const entry = shownBreakdowns.current[d];
      if (entry && entry.filterKey === filterKey) shown[d] = entry.answer;
    }
    download(
      `spend-${new Date().toISOString().slice(0, 10)}.csv`,
      spendCsv(window, tags, main.data.totals, main.data.series, shown),
    );
  };

  const t = main.status === 'ok' ? main.data.totals.totals : null;
  return (
    <div class="spend">
      <div class="toolbar">
        <DateRange
          value={rangeId}
          onChange={(id, w) => {
            setRangeId(id);
            setWindow(w);
          }}
        />
        <span class="toolbar-buttons">
          <button
            type="button"
            onClick={() => {
              reloadMain();
              setRefresh((r) => r + 1);
            }}
          >
            Refresh
          </button>
          <button type="button" onClick={exportCsv} disabled={main.status !== 'ok'}>
            Download CSV
          </button>
        </span>
      </div>
      <TagPicker value={tags} known={known} onChange={setTags} />
      {!session.isAdmin && <p class="muted small">Showing only the spend of your key.</p>}
      {main.status === 'error' ? (
        <ErrorBox error={main.error} onRetry={reloadMain} />
      ) : (
        <>
          <div class={`totals ${staleClass(main)}`} aria-live="polite" aria-busy={staleClass(main) !== ''}>
            <Stat label="Cost" value={t ? usd(t.cost_usd) : null} />
            <Stat label="Requests" value={t ? num(t.requests) : null} />
            <Stat label="Tokens" value={t ? num(t.total_tokens) : null} />
            <Stat label="Errors" value={t ? num(t.errors) : null} warn={Number(t?.errors ?? 0) > 0} />
            <Stat
              label="Unpriced calls"
              value={t ? num(t.unpriced_requests) : null}
              warn={Number(t?.unpriced_requests ?? 0) > 0}
            />
          </div>
          <section class="card">
            <h3>Cost over time</h3>
            {main.status === 'loading' ? (
              <Loading />
            ) : (
              <CostChart xs={main.data.chart[0]} ys={main.data.chart[1]} marks={marks} />
            )}
          </section>
        </>
      )}
      <div class="breakdowns">
        {BREAKDOWNS.map((d) => (
          <BreakdownCard key={d} dimension={d} window={window} tags={tags} refresh={refresh} onResult={onBreakdown} />
        ))}
      </div>
      {session.isAdmin && <AnomaliesCard window={window} refresh={refresh} onMarks={setMarks} />}
      {session.isAdmin && <ReconciliationCard window={window} refresh={refresh} />}
    </div>
  );
}

function Stat({ label, value, warn }: { label: string; value: string | null; warn?: boolean }) {
  return (
    <div class={`stat${warn ? ' warn' : ''}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">
        {value ?? (
          <span class="skeleton">
            <span class="sr-only">loading</span>
          </span>
        )}
      </div>
    </div>
  );
}
