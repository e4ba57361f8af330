// LiteLLM's daily activity endpoints — /user, /team, /customer, /tag /daily/activity — in LiteLLM's
// SpendAnalyticsPaginatedResponse shape: per day, metrics plus breakdowns by model, provider, key and
// entity. Each breakdown is its own grouped query, so a call with three tags is counted once in the day's
// metrics and the model/provider/key breakdowns, and once per tag only in the tag entity breakdown.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Warehouse } from '../../clickhouse/warehouse.js';
import { scopeFor } from '../access.js';
import type { AccessScope } from '../build.js';
import type { Dimension } from '../catalog.js';
import { type MetricValues, type ResultRow, runReport } from '../engine.js';
import type { DimensionFilter } from '../request.js';
import { csvList, dateOf, keyHashParam, litellmWindow, optionalText, usdFloat } from './params.js';

type Entity = 'user' | 'team' | 'customer' | 'tag';
/** The query-string parameter naming the entities to include, per endpoint (LiteLLM's names). */
const ENTITY_PARAM: Record<Entity, string> = {
  user: 'user_id',
  team: 'team_ids',
  customer: 'end_user_ids',
  tag: 'tags',
};

const activityQuery = z.object({
  start_date: optionalText,
  end_date: optionalText,
  model: optionalText,
  api_key: optionalText,
  user_id: optionalText,
  team_ids: csvList,
  end_user_ids: csvList,
  tags: csvList,
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(1000),
});

const METRICS = [
  'cost',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'cached_tokens',
  'requests',
  'errors',
] as const;

function spendMetrics(v: MetricValues) {
  const requests = Number(v.requests ?? 0);
  const errors = Number(v.errors ?? 0);
  return {
    spend: usdFloat(v.cost_nano),
    spend_nano: Number(v.cost_nano ?? 0),
    prompt_tokens: Number(v.prompt_tokens ?? 0),
    completion_tokens: Number(v.completion_tokens ?? 0),
    cache_read_input_tokens: Number(v.cached_tokens ?? 0),
    cache_creation_input_tokens: 0,
    total_tokens: Number(v.total_tokens ?? 0),
    successful_requests: requests - errors,
    failed_requests: errors,
    api_requests: requests,
  };
}

/** day → id → metrics, for one breakdown query. */
function byDay(rows: ResultRow[], dimension: Dimension) {
  const out = new Map<string, Map<string, ResultRow>>();
  for (const row of rows) {
    const day = dateOf(row.bucket ?? '');
    const inner = out.get(day) ?? new Map<string, ResultRow>();
    inner.set(row[dimension] ?? '', row);
    out.set(day, inner);
  }
  return out;
}

export async function dailyActivity(
  warehouse: Warehouse,
  entity: Entity,
  query: z.infer<typeof activityQuery>,
  scope: AccessScope,
) {
  const window = litellmWindow(query.start_date, query.end_date);
  const filters: Partial<Record<Dimension, DimensionFilter>> = {};
  if (query.model) filters.model = { in: [query.model] };
  if (query.api_key) filters.key = { in: [keyHashParam(query.api_key)] };
  const ids =
    entity === 'user' ? (query.user_id ? [query.user_id] : undefined) : query[ENTITY_PARAM[entity] as 'team_ids'];
  if (ids?.length) filters[entity] = { in: ids };
  const base = {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    granularity: 'day' as const,
    filters,
    metrics: [...METRICS],
  };
  const [days, models, providers, keys, entities] = await Promise.all(
    [[], ['model'], ['provider'], ['key', 'team'], [entity]].map((group_by) =>
      runReport(warehouse, { ...base, group_by: group_by as Dimension[] }, scope),
    ),
  );
  if (!days || !models || !providers || !keys || !entities) throw new Error('unreachable: five queries, five results');
  const modelsByDay = byDay(models.rows, 'model');
  const providersByDay = byDay(providers.rows, 'provider');
  const keysByDay = byDay(keys.rows, 'key');
  const entitiesByDay = byDay(entities.rows, entity);
  const breakdown = (map: Map<string, ResultRow> | undefined) =>
    Object.fromEntries(
      [...(map ?? [])].map(([id, row]) => [id, { metrics: spendMetrics(row), metadata: {}, api_key_breakdown: {} }]),
    );
  const allDays = days.rows.map((row) => {
    const day = dateOf(row.bucket ?? '');
    const modelBreakdown = breakdown(modelsByDay.get(day));
    return {
      date: day,
      metrics: spendMetrics(row),
      breakdown: {
        models: modelBreakdown,
        model_groups: modelBreakdown,
        providers: breakdown(providersByDay.get(day)),
        api_keys: Object.fromEntries(
          [...(keysByDay.get(day) ?? [])].map(([id, r]) => [
            id,
            { metrics: spendMetrics(r), metadata: { key_alias: null, team_id: r.team ?? null } },
          ]),
        ),
        entities: breakdown(entitiesByDay.get(day)),
        mcp_servers: {},
        endpoints: {},
      },
    };
  });
  const totals = spendMetrics(days.totals);
  const totalPages = Math.max(1, Math.ceil(allDays.length / query.page_size));
  return {
    results: allDays.slice((query.page - 1) * query.page_size, query.page * query.page_size),
    metadata: {
      total_spend: totals.spend,
      total_spend_nano: totals.spend_nano,
      total_prompt_tokens: totals.prompt_tokens,
      total_completion_tokens: totals.completion_tokens,
      total_tokens: totals.total_tokens,
      total_api_requests: totals.api_requests,
      total_successful_requests: totals.successful_requests,
      total_failed_requests: totals.failed_requests,
      total_cache_read_input_tokens: totals.cache_read_input_tokens,
      total_cache_creation_input_tokens: 0,
      page: query.page,
      total_pages: totalPages,
      has_more: query.page < totalPages,
    },
  };
}

export async function litellmActivityRoutes(app: FastifyInstance): Promise<void> {
  for (const entity of Object.keys(ENTITY_PARAM) as Entity[]) {
    app.get(`/${entity}/daily/activity`, async (request: FastifyRequest) => {
      const principal = await app.authenticate(request);
      return dailyActivity(app.warehouse, entity, activityQuery.parse(request.query ?? {}), scopeFor(principal));
    });
  }
}
