// The Logs tab: every call, newest first, filtered by time, key, team, user, customer, model, tag and
// status (filters take ids); keyset paging (fast at any depth); keys, teams and users shown by their aliases
// with the id in the tooltip; a CSV of the page; a row opens the call's detail.
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, Named, staleClass, useAsync } from '../components.js';
import { dateTime, ms, num, usd } from '../format.js';
import { NO_NAMES, nameOf } from '../names.js';
import { download } from '../spend/csv.js';
import { LogDetailDialog } from './LogDetail.js';
import { fetchLogs, keyLabel, type LogFilters, logsCsv, NO_FILTERS, PAGE_SIZE } from './logsApi.js';

const SINCE = [
  ['-1h', 'Last hour'],
  ['-24h', 'Last 24 h'],
  ['-7d', 'Last 7 days'],
  ['-30d', 'Last 30 days'],
] as const;

const TEXT_FILTERS: { name: keyof LogFilters; label: string; admin?: boolean }[] = [
  { name: 'key_alias', label: 'Key alias', admin: true },
  { name: 'team_id', label: 'Team id', admin: true },
  { name: 'user_id', label: 'User id' },
  { name: 'customer_id', label: 'Customer id' },
  { name: 'model', label: 'Model' },
  { name: 'tags', label: 'Tags (any of)' },
];

export function LogsTab({ session }: { session: SessionInfo }) {
  const [draft, setDraft] = useState<LogFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<LogFilters>(NO_FILTERS);
  // Cursors of the pages before the current one: "Previous" pops, "Next" pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [openId, setOpenId] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [page, reload] = useAsync((signal) => fetchLogs(filters, cursor, signal), [JSON.stringify(filters), cursor]);

  const apply = (next: LogFilters) => {
    setFilters(next);
    setCursors([null]);
  };
  const pageNo = cursors.length;
  return (
    <div class="logs">
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <label>
          Time
          <select value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.currentTarget.value })}>
            {SINCE.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {TEXT_FILTERS.filter((f) => session.isAdmin || !f.admin).map((f) => (
          <label key={f.name}>
            {f.label}
            <input
              name={f.name}
              value={draft[f.name]}
              onInput={(e) => setDraft({ ...draft, [f.name]: e.currentTarget.value })}
            />
          </label>
        ))}
        <label>
          Status
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="429">429 (budget / rate limit)</option>
            <option value="5xx">5xx</option>
          </select>
        </label>
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              apply(NO_FILTERS);
            }}
          >
            Reset
          </button>
          <button type="button" onClick={reload} title="Fetch the newest calls">
            Refresh
          </button>
        </div>
      </form>
      <p class="muted small">
        Raw call logs are kept{' '}
        {session.logRetention ? `for ${session.logRetention}` : 'until dropped (no spend_logs_max_age set)'}; totals
        stay in the rollups longer. Prompts and responses are {session.storePrompts ? 'stored' : 'not stored'}.
      </p>
      {page.status === 'loading' && <Loading />}
      {page.status === 'error' && <ErrorBox error={page.error} onRetry={reload} />}
      {page.status === 'ok' && page.data.data.length === 0 && <Empty>No calls match these filters.</Empty>}
      {page.status === 'ok' && page.data.data.length > 0 && (
        <>
          <div class={`table-wrap card ${staleClass(page)}`} aria-busy={staleClass(page) !== ''}>
            <table class="logtable">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Status</th>
                  <th scope="col">Model</th>
                  <th scope="col" class="hide-sm">
                    Key
                  </th>
                  <th scope="col" class="hide-sm">
                    Team
                  </th>
                  <th scope="col" class="hide-sm">
                    User
                  </th>
                  <th scope="col" class="hide-sm">
                    Tags
                  </th>
                  <th scope="col" class="num">
                    Tokens
                  </th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num hide-sm">
                    Duration
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.data.map((log) => (
                  <tr
                    key={log.request_id}
                    class="clickable"
                    tabIndex={0}
                    aria-label={`Call ${log.request_id}: open detail`}
                    onClick={() => setOpenId(log.request_id)}
                    onKeyDown={(e) => {
                      if (e.key !== 'Enter' && e.key !== ' ') return;
                      e.preventDefault();
                      setOpenId(log.request_id);
                    }}
                  >
                    <td class="small nowrap">{dateTime(log.startTime)}</td>
                    <td>
                      <Badge kind={log.status_code < 400 ? 'good' : 'bad'}>{log.status_code}</Badge>
                    </td>
                    <td>{log.model}</td>
                    <td class="hide-sm">
                      <Named name={keyLabel(log, page.data.names)} id={log.api_key} />
                    </td>
                    <td class="hide-sm">
                      <Named name={nameOf(page.data.names, 'team', log.team_id)} id={log.team_id} />
                    </td>
                    <td class="hide-sm">
                      <Named name={nameOf(page.data.names, 'user', log.user)} id={log.user} />
                    </td>
                    <td class="hide-sm small">{log.request_tags.join(', ') || '—'}</td>
                    <td class="num">{num(log.total_tokens)}</td>
                    <td class="num">
                      {usd(log.cost_usd)}
                      {log.cost_status === 'unpriced' && (
                        <span class="muted small" title="No price known for this model">
                          {' '}
                          (unpriced)
                        </span>
                      )}
                    </td>
                    <td class="num hide-sm">{ms(log.request_duration_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={pageNo === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <span class="small">
              Page {num(pageNo)} of {num(Math.max(1, Math.ceil(page.data.total / PAGE_SIZE)))} · {num(page.data.total)}{' '}
              calls
            </span>
            <button
              type="button"
              disabled={!page.data.next_cursor}
              onClick={() => setCursors([...cursors, page.data.next_cursor])}
            >
              Older →
            </button>
            <button
              type="button"
              title="This page of calls as CSV (names beside their ids)"
              onClick={() =>
                download(`logs-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`, logsCsv(page.data))
              }
            >
              Download CSV
            </button>
          </nav>
        </>
      )}
      {openId && (
        <LogDetailDialog
          requestId={openId}
          session={session}
          names={page.status === 'ok' ? page.data.names : NO_NAMES}
          onClose={() => setOpenId(null)}
        />
      )}
    </div>
  );
}
