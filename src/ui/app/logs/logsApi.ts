// The Logs tab's view of GET /spend/logs/v2 (list, keyset cursor) and /spend/logs/v2/{request_id} (detail),
// each page with the names of its teams, keys, users and customers (one look-up per page), and the CSV of a
// page as shown.

import { csvText } from '../../../csvText.js';
import type { LogDetail } from '../../../query/logs/logRoutes.js';
import type { LogEntry } from '../../../query/logs/logRows.js';
import { get, qs } from '../api.js';
import { fetchNames, type NameBook, nameOf } from '../names.js';

/** One call as the logs endpoints return it (the query API's own type; nothing of the server is bundled). */
export type { LogDetail, LogEntry };

export interface LogsPage {
  data: LogEntry[];
  total: number;
  next_cursor: string | null;
  /** Aliases of the page's ids (not part of the API's answer: one /ui/api/names look-up per page). */
  names: NameBook;
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

export async function fetchLogs(filters: LogFilters, cursor: string | null, signal: AbortSignal): Promise<LogsPage> {
  const status =
    filters.status === 'success' || filters.status === 'failure'
      ? { status_filter: filters.status }
      : { status: filters.status.trim() };
  const page = await get<Omit<LogsPage, 'names'>>(
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
  const names = await fetchNames(
    {
      team: page.data.map((l) => l.team_id),
      key: page.data.map((l) => l.api_key),
      user: page.data.map((l) => l.user),
      customer: page.data.map((l) => l.customer_id),
    },
    signal,
  );
  return { ...page, names };
}

/** A call's key as shown: its alias now (control plane), else the alias it was recorded with, else the hash. */
export const keyLabel = (log: LogEntry, names: NameBook) =>
  nameOf(names, 'key', log.api_key) ?? log.key_alias ?? (log.api_key ? `${log.api_key.slice(0, 10)}…` : '—');

/** One line per call of the page: names beside the ids they label, money as exact decimal strings. */
export function logsCsv(page: LogsPage): string {
  const { names } = page;
  const lines: string[][] = [
    [
      'start_time',
      'request_id',
      'response_id',
      'status_code',
      'model',
      'provider',
      'key_name',
      'key_hash',
      'team_name',
      'team_id',
      'user_name',
      'user_id',
      'customer_name',
      'customer_id',
      'tags',
      'prompt_tokens',
      'completion_tokens',
      'total_tokens',
      'cost_usd',
      'cost_status',
      'duration_ms',
    ],
  ];
  for (const log of page.data) {
    lines.push([
      log.startTime,
      log.request_id,
      log.response_id ?? '',
      String(log.status_code),
      log.model,
      log.custom_llm_provider,
      nameOf(names, 'key', log.api_key) ?? log.key_alias ?? '',
      log.api_key,
      nameOf(names, 'team', log.team_id) ?? '',
      log.team_id ?? '',
      nameOf(names, 'user', log.user) ?? '',
      log.user,
      nameOf(names, 'customer', log.customer_id) ?? '',
      log.customer_id ?? '',
      log.request_tags.join('|'),
      String(log.prompt_tokens),
      String(log.completion_tokens),
      String(log.total_tokens),
      log.cost_usd,
      log.cost_status,
      String(log.request_duration_ms),
    ]);
  }
  return csvText(lines);
}

/** One call with the re-pricing corrections written for it (docs/repricing.md). */
export const fetchLog = (requestId: string, signal: AbortSignal) =>
  get<LogDetail>(`/spend/logs/v2/${encodeURIComponent(requestId)}`, signal);
