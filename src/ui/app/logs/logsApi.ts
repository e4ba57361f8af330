// The Logs tab's view of GET /spend/logs/v2 (list, keyset cursor) and /spend/logs/v2/{request_id} (detail).
import type { LogEntry } from '../../../query/logs/logRows.js';
import { get, qs } from '../api.js';

/** One call as the logs endpoints return it (the query API's own type; nothing of the server is bundled). */
export type { LogEntry };

export interface LogsPage {
  data: LogEntry[];
  total: number;
  next_cursor: string | null;
}

export interface LogFilters {
  since: string;
  key_alias: string;
  team_id: string;
  user_id: string;
  customer_id: string;
  model: string;
  tags: string;
  status: string;
}

export const NO_FILTERS: LogFilters = {
  since: '-24h',
  key_alias: '',
  team_id: '',
  user_id: '',
  customer_id: '',
  model: '',
  tags: '',
  status: '',
};

export const PAGE_SIZE = 50;

export function fetchLogs(filters: LogFilters, cursor: string | null, signal: AbortSignal): Promise<LogsPage> {
  const status =
    filters.status === 'success' || filters.status === 'failure'
      ? { status_filter: filters.status }
      : { status: filters.status.trim() };
  return get<LogsPage>(
    `/spend/logs/v2${qs({
      start_date: filters.since,
      end_date: 'now',
      key_alias: filters.key_alias.trim(),
      team_id: filters.team_id.trim(),
      user_id: filters.user_id.trim(),
      customer_id: filters.customer_id.trim(),
      model: filters.model.trim(),
      tags: filters.tags.trim(),
      ...status,
      page_size: PAGE_SIZE,
      cursor,
    })}`,
    signal,
  );
}

export const fetchLog = (requestId: string, signal: AbortSignal) =>
  get<LogEntry>(`/spend/logs/v2/${encodeURIComponent(requestId)}`, signal);
