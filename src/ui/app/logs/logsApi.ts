// The Logs tab's view of GET /spend/logs/v2 (list, keyset cursor) and /spend/logs/v2/{request_id} (detail).
import { get, qs } from '../api.js';

export interface LogEntry {
  request_id: string;
  response_id: string | null;
  call_type: string;
  api_key: string;
  key_alias: string | null;
  user: string;
  team_id: string | null;
  customer_id: string | null;
  model: string;
  upstream_model: string;
  custom_llm_provider: string;
  startTime: string;
  endTime: string;
  completionStartTime: string | null;
  request_duration_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd: string;
  cost_status: string;
  status: string;
  status_code: number;
  request_tags: string[];
  metadata: Record<string, unknown>;
  messages: unknown;
  response: unknown;
  stream: boolean;
  source: string;
}

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
