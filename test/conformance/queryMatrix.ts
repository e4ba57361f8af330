// The questions the conformance suite asks both servers, as HTTP requests to the query API: /spend/query over
// every rollup and raw (windows of whole days, whole hours, inside a second; every granularity; zones with
// whole-hour, half-hour and DST-changing offsets; group-bys, filters with nulls and hostile values, tag
// filters with and without the tag-set index; each caller scope; paging), the LiteLLM-compatible reports
// and the logs (pages forward and back, cursors, filters, details). Windows are absolute: "now" would make
// two askings of one question differ.
import { GRANULARITIES, METRICS } from '../../src/query/catalog.js';
import { CUSTOMERS, keyHash, MODELS, TAGS, TEAMS, USERS } from './dataset.js';

export type Family = 'spend_query' | 'spend_query_tags' | 'spend_query_paging' | 'litellm' | 'logs' | 'log_detail';

export interface Question {
  family: Family;
  method: 'GET' | 'POST';
  url: string;
  body?: Record<string, unknown>;
  /** `all`, `team:<id>` or `key:<hash>` (servers.ts CALLER_HEADER). */
  caller: string;
}

/** The i-th item, cyclically (the matrix rotates secondary choices through their lists). */
const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

const WINDOWS = {
  days: { from: '2026-10-23T00:00:00Z', to: '2026-10-30T00:00:00Z' },
  hours: { from: '2026-10-24T05:00:00Z', to: '2026-10-26T17:00:00Z' },
  seconds: { from: '2026-10-24T05:17:23.456Z', to: '2026-10-27T11:00:00.500Z' },
  all: { from: '2026-10-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
  dstNight: { from: '2026-10-25T00:00:00Z', to: '2026-10-25T03:00:00Z' },
  localDates: { from: '2026-10-24', to: '2026-11-02' },
} as const;
type WindowName = keyof typeof WINDOWS;

const GROUP_BYS: string[][] = [
  [],
  ['team'],
  ['model', 'provider'],
  ['key', 'user'],
  ['customer'],
  ['tag'],
  ['team', 'tag'],
  ['status', 'call_type'],
  ['user', 'customer', 'key'],
];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Adelaide'];
const ALL_METRICS: string[] = [...METRICS];
const SUMMED_METRICS = ALL_METRICS.filter((m) => m !== 'p95_latency_ms');
const METRIC_SETS = [undefined, SUMMED_METRICS, ALL_METRICS, ['cost'], ['requests', 'errors', 'avg_latency_ms']];

const FILTER_SETS: Record<string, unknown>[] = [
  {},
  { team: { in: [TEAMS[0], TEAMS[2]] } },
  { model: { not_in: [MODELS[0]] } },
  { customer: { in: [null] } },
  { user: { in: [USERS[4], USERS[5], USERS[6]] } },
  { status: { in: ['4xx', '5xx'] } },
  { key: { in: [keyHash(1), keyHash(2)] }, team: { not_in: [null] } },
  { team: { in: [TEAMS[3]] }, customer: { not_in: [CUSTOMERS[3], null] } },
];
const CALLERS = ['all', 'all', `team:${TEAMS[0]}`, 'all', `key:${keyHash(3)}`, 'all', `team:${TEAMS[3]}`];

function spendQuery(family: Family, body: Record<string, unknown>, caller = 'all'): Question {
  return { family, method: 'POST', url: '/spend/query', body, caller: encodeURIComponent(caller) };
}

/** /spend/query over the product of group-bys, granularities and windows, the rest rotating by index. */
function spendQueries(): Question[] {
  const out: Question[] = [];
  const windows: WindowName[] = ['days', 'hours', 'seconds', 'all', 'localDates'];
  let i = 0;
  for (const group_by of GROUP_BYS) {
    for (const granularity of GRANULARITIES) {
      for (const w of windows) {
        i++;
        // Hour buckets over two months of every key and user are many thousand rows: months keep day buckets.
        if (granularity === 'hour' && (w === 'all' || w === 'localDates') && group_by.length > 1) continue;
        const metrics = at(METRIC_SETS, i);
        out.push(
          spendQuery(
            'spend_query',
            {
              ...WINDOWS[w],
              timezone: at(ZONES, i),
              granularity,
              group_by,
              filters: at(FILTER_SETS, i),
              ...(metrics ? { metrics } : {}),
              ...(i % 4 === 0 ? { source: 'raw' } : {}),
            },
            at(CALLERS, i),
          ),
        );
      }
    }
  }
  // Each zone over the DST night and the local-dates window, by day and by hour (bucket labels, offsets).
  for (const timezone of ZONES) {
    for (const granularity of ['hour', 'day'] as const) {
      out.push(spendQuery('spend_query', { ...WINDOWS.dstNight, timezone, granularity, group_by: ['model'] }));
      out.push(spendQuery('spend_query', { ...WINDOWS.localDates, timezone, granularity, group_by: ['team'] }));
    }
  }
  // Explicit orders (ties broken by every dimension) and CSV.
  for (const order_by of [['-requests', 'team'], ['team:desc'], ['bucket desc', '-cost'], ['-avg_latency_ms']]) {
    out.push(
      spendQuery('spend_query', {
        ...WINDOWS.days,
        granularity: 'day',
        group_by: ['team', 'model'],
        metrics: ['cost', 'requests', 'avg_latency_ms'],
        order_by,
      }),
    );
  }
  // By service tier and price source: the pricing rollup (057), and raw for what it does not keep.
  for (const source of ['auto', 'raw'] as const) {
    out.push(
      spendQuery('spend_query', {
        ...WINDOWS.days,
        granularity: 'day',
        group_by: ['service_tier', 'price_source'],
        filters: { service_tier: { not_in: [null] } },
        metrics: ['cost', 'requests', 'total_tokens'],
        source,
      }),
    );
  }
  out.push({
    family: 'spend_query',
    method: 'GET',
    url: `/spend/query?from=${WINDOWS.days.from}&to=${WINDOWS.days.to}&group_by=team,tag&granularity=day&format=csv`,
    caller: 'all',
  });
  return out;
}

/** Tag filters: every form, on rollups (auto) and raw (the tag-set index), per caller, some grouped by tag. */
function tagQueries(): Question[] {
  const out: Question[] = [];
  const tagFilters: Record<string, unknown>[] = [
    { tags: { all: [TAGS[0]] } },
    { tags: { any: [TAGS[4], TAGS[5], TAGS[6]] } },
    { tags: { none: [TAGS[0], TAGS[1]] } },
    { tags: { all: [TAGS[7], TAGS[8]], none: [TAGS[9]] } },
    { tags: { any: [] } },
    { tags: { any: ['no-such-tag'] } },
    { filters: { tag: { in: [TAGS[10], TAGS[11]] } } },
    { filters: { tag: { in: [null] } } },
    { filters: { tag: { not_in: [null, TAGS[12]] } } },
    { tags: { all: [TAGS[2]] }, filters: { tag: { in: [TAGS[3]] } } },
  ];
  const windows: WindowName[] = ['days', 'hours', 'seconds', 'all'];
  let i = 0;
  for (const filter of tagFilters) {
    for (const w of windows) {
      for (const source of ['auto', 'raw']) {
        i++;
        const group_by = at([[], ['team'], ['tag'], ['model']], i);
        out.push(
          spendQuery(
            'spend_query_tags',
            { ...WINDOWS[w], ...filter, source, group_by, granularity: i % 3 === 0 ? 'day' : 'none' },
            at(CALLERS, i),
          ),
        );
      }
    }
  }
  // Split attribution (tagSplit.ts): the shares agree to the nano-USD on both servers, sources and scopes.
  for (const [j, filter] of tagFilters.entries()) {
    const w = at<WindowName>(['days', 'seconds', 'hours'], j);
    const body = { ...WINDOWS[w], ...filter, group_by: at([['tag'], ['team', 'tag']], j), tag_attribution: 'split' };
    const shape = { granularity: j % 2 ? 'day' : 'none', source: at(['auto', 'raw'], j) };
    out.push(spendQuery('spend_query_tags', { ...body, ...shape }, at(CALLERS, j)));
  }
  return out;
}

/** A grouped question with a page size of 7, followed through its cursors (the follow-up pages are built
 * from each side's own next_cursor by the suite). */
export const PAGED_QUESTIONS: Question[] = [
  spendQuery('spend_query_paging', {
    ...WINDOWS.days,
    granularity: 'day',
    group_by: ['team', 'model'],
    limit: 7,
  }),
  spendQuery('spend_query_paging', { ...WINDOWS.seconds, group_by: ['tag'], limit: 7 }),
  spendQuery('spend_query_paging', { ...WINDOWS.hours, granularity: 'hour', group_by: ['key'], limit: 7 }),
];

const litellmDates = [
  { start_date: '2026-10-23', end_date: '2026-10-29' },
  { start_date: '2026-10-24 05:17:23', end_date: '2026-10-27 11:00:00' },
  { start_date: '2026-10-01', end_date: '2026-11-30' },
];

const query = (params: Record<string, string | undefined>) =>
  new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();

function litellmQuestions(): Question[] {
  const out: Question[] = [];
  const get = (url: string, caller = 'all'): Question => ({
    family: 'litellm',
    method: 'GET',
    url,
    caller: encodeURIComponent(caller),
  });
  litellmDates.forEach((dates, i) => {
    for (const group_by of ['team', 'customer', 'api_key']) {
      out.push(get(`/global/spend/report?${query({ ...dates, group_by })}`, at(CALLERS, i)));
    }
    out.push(get(`/global/spend/report?${query({ ...dates, api_key: keyHash(i) })}`));
    out.push(get(`/global/spend/report?${query({ ...dates, internal_user_id: at(USERS, 4 + i) })}`));
    out.push(get(`/global/spend/report?${query({ ...dates, team_id: TEAMS[2], customer_id: CUSTOMERS[3] })}`));
    out.push(get(`/spend/tags?${query(dates)}`));
    out.push(get(`/spend/tags?${query({ ...dates, tags: `${TAGS[5]},${TAGS[6]}` })}`, `team:${TEAMS[0]}`));
    out.push(get(`/global/spend/tags?${query({ ...dates, tags: 'all-tags' })}`));
    for (const [entity, param, values] of [
      ['user', 'user_id', USERS[5]],
      ['team', 'team_ids', `${TEAMS[1]},${TEAMS[2]}`],
      ['customer', 'end_user_ids', CUSTOMERS[4]],
      ['tag', 'tags', `${TAGS[4]},${TAGS[7]}`],
    ] as const) {
      out.push(get(`/${entity}/daily/activity?${query(dates)}`));
      out.push(get(`/${entity}/daily/activity?${query({ ...dates, [param]: values, model: at(MODELS, i) })}`));
    }
    out.push(get(`/spend/logs?${query(dates)}`));
    out.push(get(`/spend/logs?${query({ ...dates, api_key: keyHash(2), user_id: USERS[1] })}`));
    out.push(get(`/spend/logs?${query({ ...dates, summarize: 'false', user_id: USERS[7] })}`));
  });
  out.push(get(`/spend/logs?${query({ request_id: "q'uote-1" })}`));
  // By the provider's response id (spend_response_index, migration 055), for callers of every scope, an
  // unknown one, within dates, and through the v2 detail and filter.
  [7, 123, 500, 1500, 2500, 3000, 999_999].forEach((n, i) => {
    out.push(get(`/spend/logs?${query({ request_id: `chatcmpl-${n}` })}`, at(CALLERS, i)));
  });
  out.push(get(`/spend/logs?${query({ ...litellmDates[0], summarize: 'false', request_id: 'chatcmpl-7' })}`));
  out.push(get('/spend/logs/v2/chatcmpl-1500', `team:${TEAMS[0]}`));
  out.push(get('/spend/logs/v2/chatcmpl-2500'));
  out.push(get(`/spend/logs/v2?${query({ ...litellmDates[2], request_id: 'chatcmpl-123' })}`));
  return out;
}

/** First pages of the logs; the suite follows cursors and page numbers from them. */
export function logQuestions(): Question[] {
  const windows = [
    { start_date: '2026-10-23', end_date: '2026-10-29' },
    { start_date: '2026-10-24 05:17:23', end_date: '2026-10-27 11:00:00' },
  ];
  const filters: Record<string, string>[] = [
    {},
    { team_id: TEAMS[2] },
    { user_id: USERS[5] },
    { api_key: keyHash(0) },
    { key_alias: "alias'2" },
    { end_user: CUSTOMERS[3] },
    { model: MODELS[4] },
    { tags: `${TAGS[4]},${TAGS[5]}` },
    { status_filter: 'failure' },
    { status: '2xx,429' },
    { status: '5xx', team_id: TEAMS[0] },
    { request_id: 'back\\slash-2' },
  ];
  const out: Question[] = [];
  let i = 0;
  for (const w of windows) {
    for (const f of filters) {
      for (const sort_order of ['desc', 'asc']) {
        i++;
        out.push({
          family: 'logs',
          method: 'GET',
          url: `/spend/logs/v2?${query({ ...w, ...f, sort_order, page_size: String(at([50, 7, 200], i)) })}`,
          caller: encodeURIComponent(at(CALLERS, i)),
        });
      }
    }
  }
  return out;
}

export function logDetailQuestions(requestIds: readonly string[]): Question[] {
  return requestIds.map((id, i) => ({
    family: 'log_detail',
    method: 'GET',
    url: `/spend/logs/v2/${encodeURIComponent(id)}`,
    caller: encodeURIComponent(at(CALLERS, i)),
  }));
}

export function fixedQuestions(): Question[] {
  return [...spendQueries(), ...tagQueries(), ...litellmQuestions()];
}
