// The Spend tab's questions to POST /spend/query (docs/query-api.md): one per chart, totals and breakdown.
import type { ResultRow, SpendQueryResult } from '../../../query/engine.js';
import { post } from '../api.js';

export const BREAKDOWNS = ['team', 'user', 'key', 'customer', 'model', 'provider', 'tag'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];
export type Granularity = 'hour' | 'day' | 'week' | 'month';
/** By tag: `overlap` counts a call under each of its tags; `split` divides it among them (rows add up). */
export type TagAttribution = 'overlap' | 'split';

export interface TagFilter {
  all: string[];
  any: string[];
  none: string[];
}

export interface Window {
  from: string;
  to: string;
  granularity: Granularity;
}

// The wire shapes are the query API's own types (type-only imports: nothing of the server is bundled).
export type QueryResult = SpendQueryResult;
export type QueryRow = ResultRow;

export const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function tagsBody(tags: TagFilter) {
  const out: Partial<TagFilter> = {};
  if (tags.all.length) out.all = tags.all;
  if (tags.any.length) out.any = tags.any;
  if (tags.none.length) out.none = tags.none;
  return out;
}

export function querySpend(
  window: Window,
  tags: TagFilter,
  shape: {
    granularity?: Granularity | 'none';
    group_by?: Breakdown[];
    metrics: string[];
    limit?: number;
    tag_attribution?: TagAttribution;
  },
  signal?: AbortSignal,
): Promise<QueryResult> {
  return post<QueryResult>(
    '/spend/query',
    {
      from: window.from,
      to: window.to,
      timezone,
      granularity: shape.granularity ?? 'none',
      group_by: shape.group_by ?? [],
      tags: tagsBody(tags),
      metrics: shape.metrics,
      ...(shape.limit ? { limit: shape.limit } : {}),
      ...(shape.tag_attribution ? { tag_attribution: shape.tag_attribution } : {}),
    },
    signal,
  );
}

export const TOTAL_METRICS = ['cost', 'requests', 'total_tokens', 'errors', 'unpriced_requests'];
export const BREAKDOWN_METRICS = ['cost', 'requests', 'total_tokens'];
