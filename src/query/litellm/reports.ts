// LiteLLM's spend reports with LiteLLM's response shapes — /global/spend/report, /spend/tags,
// /global/spend/tags — answered by the same planner as /spend/query, so their totals agree with it.
// Money is LiteLLM's float dollars plus an exact `*_nano` integer beside it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { scopeFor } from '../access.js';
import type { Dimension } from '../catalog.js';
import { type ResultRow, runReport } from '../engine.js';
import type { DimensionFilter } from '../request.js';
import { csvList, dateOf, keyHashParam, litellmWindow, optionalText, usdFloat } from './params.js';

const iso = (ms: number) => new Date(ms).toISOString();
const nano = (row: ResultRow) => Number(row.cost_nano ?? 0);

const reportQuery = z.object({
  start_date: optionalText,
  end_date: optionalText,
  group_by: z.enum(['team', 'customer', 'api_key']).default('team'),
  api_key: optionalText,
  internal_user_id: optionalText,
  team_id: optionalText,
  customer_id: optionalText,
});

/** Rows grouped under a key, keeping first-seen order. */
function groupRows<K>(rows: ResultRow[], keyOf: (r: ResultRow) => K): Map<K, ResultRow[]> {
  const out = new Map<K, ResultRow[]>();
  for (const row of rows) out.set(keyOf(row), [...(out.get(keyOf(row)) ?? []), row]);
  return out;
}

async function globalSpendReport(app: FastifyInstance, request: FastifyRequest) {
  const principal = await app.authenticate(request);
  const q = reportQuery.parse(request.query ?? {});
  const window = litellmWindow(q.start_date, q.end_date);
  const filters: Partial<Record<Dimension, DimensionFilter>> = {};
  if (q.api_key) filters.key = { in: [keyHashParam(q.api_key)] };
  if (q.internal_user_id) filters.user = { in: [q.internal_user_id] };
  if (q.team_id) filters.team = { in: [q.team_id] };
  if (q.customer_id) filters.customer = { in: [q.customer_id] };
  const base = { from: iso(window.fromMs), to: iso(window.toMs), filters };
  const scope = scopeFor(principal);

  if (q.group_by === 'api_key' || q.api_key || q.internal_user_id) {
    const result = await runReport(
      app.warehouse,
      { ...base, group_by: ['key', 'model'], metrics: ['cost', 'prompt_tokens', 'completion_tokens'] },
      scope,
    );
    const perKey = [...groupRows(result.rows, (r) => r.key ?? '')].map(([apiKey, rows]) => {
      const totalNano = rows.reduce((s, r) => s + nano(r), 0);
      return {
        api_key: apiKey,
        total_cost: usdFloat(totalNano),
        total_cost_nano: totalNano,
        total_input_tokens: rows.reduce((s, r) => s + Number(r.prompt_tokens ?? 0), 0),
        total_output_tokens: rows.reduce((s, r) => s + Number(r.completion_tokens ?? 0), 0),
        model_details: rows.map((r) => ({
          model: r.model,
          total_cost: usdFloat(nano(r)),
          total_input_tokens: Number(r.prompt_tokens ?? 0),
          total_output_tokens: Number(r.completion_tokens ?? 0),
        })),
      };
    });
    return perKey.sort((a, b) => b.total_cost_nano - a.total_cost_nano);
  }

  const entity: Dimension = q.group_by === 'team' ? 'team' : 'customer';
  const result = await runReport(
    app.warehouse,
    { ...base, granularity: 'day', group_by: [entity, 'model', 'key'], metrics: ['cost', 'total_tokens'] },
    scope,
  );
  return [...groupRows(result.rows, (r) => dateOf(r.bucket ?? ''))].map(([day, dayRows]) => {
    const groups = [...groupRows(dayRows, (r) => r[entity] ?? null)].map(([id, rows]) => {
      const totalNano = rows.reduce((s, r) => s + nano(r), 0);
      return {
        ...(entity === 'team' ? { team_name: id ?? 'Unassigned Team' } : { customer: id }),
        total_spend: usdFloat(totalNano),
        total_spend_nano: totalNano,
        metadata: rows.map((r) => ({
          model: r.model,
          api_key: r.key,
          spend: usdFloat(nano(r)),
          total_tokens: Number(r.total_tokens ?? 0),
        })),
      };
    });
    return { group_by_day: `${day}T00:00:00+00:00`, [entity === 'team' ? 'teams' : 'customers']: groups };
  });
}

async function tagSpend(app: FastifyInstance, request: FastifyRequest, shape: 'spend_tags' | 'global') {
  const principal = await app.authenticate(request);
  const q = z.object({ start_date: optionalText, end_date: optionalText, tags: csvList }).parse(request.query ?? {});
  const window =
    shape === 'global'
      ? litellmWindow(q.start_date, q.end_date)
      : litellmWindow(q.start_date, q.end_date, { from: '1970-01-01', to: 'now' });
  const onlyTags = q.tags?.length && !q.tags.includes('all-tags') ? q.tags : null;
  const result = await runReport(
    app.warehouse,
    {
      from: iso(window.fromMs),
      to: iso(window.toMs),
      group_by: ['tag'],
      metrics: ['cost', 'requests'],
      order_by: ['-cost', 'tag'],
      ...(onlyTags ? { filters: { tag: { in: onlyTags } } } : {}),
    },
    scopeFor(principal),
  );
  // LiteLLM expands request_tags, so untagged calls are in no tag row.
  const tagged = result.rows.filter((r) => r.tag !== null && r.tag !== undefined);
  if (shape === 'spend_tags') {
    return tagged.map((r) => ({
      individual_request_tag: r.tag,
      log_count: Number(r.requests ?? 0),
      total_spend: usdFloat(nano(r)),
      total_spend_nano: nano(r),
    }));
  }
  return {
    spend_per_tag: tagged.map((r) => ({
      name: r.tag,
      spend: usdFloat(nano(r)),
      spend_nano: nano(r),
      log_count: Number(r.requests ?? 0),
    })),
  };
}

export async function litellmReportRoutes(app: FastifyInstance): Promise<void> {
  app.get('/global/spend/report', (request) => globalSpendReport(app, request));
  app.get('/spend/tags', (request) => tagSpend(app, request, 'spend_tags'));
  app.get('/global/spend/tags', (request) => tagSpend(app, request, 'global'));
}
