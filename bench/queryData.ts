// Synthetic spend for the query benchmark: N calls over 30 days, 50 teams, 5,000 users (10,000 keys),
// 20 models, a third of calls with one of 1,000 customers, and tag sets of env, feature, tier and
// sometimes batch (216 distinct sets, 18 per team). Generated server-side on both systems from the same integer
// formulas (`INSERT … SELECT … FROM numbers()` in ClickHouse, `generate_series` in Postgres), so the two
// hold the same calls: call n has the same team, key, model, tags, tokens and cost in both.

import type { ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';

/**
 * Version of the formulas below. A loaded bench dataset records the version it was generated with and is
 * reused only while it matches: bump this whenever a formula, the column list or the call count's meaning
 * changes, and the next bench run reloads both systems.
 */
export const GENERATOR_VERSION = 1;

export const DAY_MS = 86_400_000;
export const SPAN_MS = 30 * DAY_MS;
/** The 30 days end at a fixed midnight so runs are comparable and windows fall on whole days. */
export const END_MS = Date.UTC(2026, 10, 1);
export const START_MS = END_MS - SPAN_MS;

const MODELS = Array.from({ length: 20 }, (_, i) => `model-${String(i).padStart(2, '0')}`);
const PROVIDERS = ['openai', 'anthropic', 'azure', 'bedrock'];
const FEATURES = [
  'onboarding',
  'search',
  'chat',
  'summarize',
  'translate',
  'extract',
  'classify',
  'codegen',
  'support',
  'billing',
  'analytics',
  'agent',
];

/** Both dialects spell the same integer formulas; only a few function names differ. */
interface Dialect {
  n: string;
  str(expr: string): string;
  pick(list: readonly string[], index: string): string;
  sqrtFloor(expr: string): string;
  cat(...parts: string[]): string;
  /** Integer division (ClickHouse's `/` is float division). */
  div(a: string, b: string): string;
}
const PRIME = 4294967291;
const r = (d: Dialect, mult: number) => `((${d.n} * ${mult}) % ${PRIME})`;

/**
 * Named column expressions of call n (the formulas shared by both systems). Realistic skew: a user belongs
 * to one team; a team sends 80% of its calls to its 3 usual models and works on 3 of the 12 features;
 * 5% of calls fail. Uniform independent dimensions would make every rollup as large as the raw table,
 * which no real gateway's traffic looks like.
 */
function callColumns(d: Dialect, total: number) {
  const user = `(${r(d, 2654435761)} % 5000)`;
  const team = `(${user} % 50)`;
  const usualModel = `((${team} * 7 + ${r(d, 2246822519)} % 3) % 20)`;
  const anyModel = d.sqrtFloor(`${r(d, 2246822519)} % 400`);
  const model = `(CASE WHEN ${r(d, 3079160389)} % 10 < 8 THEN ${usualModel} ELSE ${anyModel} END)`;
  const status = `(CASE WHEN ${r(d, 3266489917)} % 100 < 3 THEN 500 WHEN ${r(d, 3266489917)} % 100 < 5 THEN 429 ELSE 200 END)`;
  const prompt = `(50 + ${r(d, 668265263)} % 4000)`;
  const completion = `(10 + ${r(d, 374761393)} % 800)`;
  const env = `(CASE WHEN ${r(d, 1181783497)} % 10 < 7 THEN 'env:prod' WHEN ${r(d, 1181783497)} % 10 < 9 THEN 'env:staging' ELSE 'env:dev' END)`;
  return {
    request_id: d.cat(`'req-'`, d.str(d.n)),
    start_ms: `(${START_MS} + ${d.div(`${d.n} * ${SPAN_MS}`, String(total))})`,
    user_id: d.cat(`'user-'`, d.str(user)),
    team_id: d.cat(`'team-'`, d.str(team)),
    key_hash: d.cat(`'key-'`, d.str(`(${user} * 2 + ${r(d, 3432918353)} % 2)`)),
    customer_id: `(CASE WHEN ${r(d, 2869860233)} % 3 = 0 THEN ${d.cat(`'cust-'`, d.str(`(${r(d, 2869860233)} % 1000)`))} ELSE '' END)`,
    model: d.pick(MODELS, model),
    provider: d.pick(PROVIDERS, `(${model} % 4)`),
    status,
    prompt_tokens: prompt,
    completion_tokens: completion,
    cost_nano: `(${prompt} * (${model} + 1) * 150 + ${completion} * (${model} + 1) * 600)`,
    duration_ms: `(200 + ${r(d, 2654435769)} % 5000)`,
    env,
    feature: d.cat(`'feature:'`, d.pick(FEATURES, `((${team} * 5 + ${r(d, 1597334677)} % 3) % 12)`)),
    tier: d.cat(`'tier:'`, d.pick(['free', 'pro', 'enterprise'], `(${team} % 3)`)),
    batch: `(${r(d, 2246822507)} % 5 = 0)`,
  };
}

const CLICKHOUSE: Dialect = {
  n: 'number',
  str: (e) => `toString(${e})`,
  pick: (list, index) => `[${list.map((s) => `'${s}'`).join(', ')}][toUInt32(${index}) + 1]`,
  sqrtFloor: (e) => `toUInt64(floor(sqrt(${e})))`,
  cat: (...parts) => `concat(${parts.join(', ')})`,
  div: (a, b) => `intDiv(${a}, ${b})`,
};

const POSTGRES: Dialect = {
  n: 'n',
  str: (e) => `(${e})::text`,
  pick: (list, index) => `(ARRAY[${list.map((s) => `'${s}'`).join(', ')}])[(${index})::int + 1]`,
  sqrtFloor: (e) => `floor(sqrt(${e}))::bigint`,
  cat: (...parts) => `(${parts.join(' || ')})`,
  div: (a, b) => `((${a}) / ${b})`,
};

/** Loads calls [from, to) of `total` into spend_logs; the materialized views fill every rollup. */
export async function loadClickHouse(client: ClickHouseClient, total: number, from: number, to: number): Promise<void> {
  const c = callColumns({ ...CLICKHOUSE, n: `(number + ${from})` }, total);
  // Big blocks: every block becomes a part in spend_logs and in each rollup; 65k-row blocks make merges
  // fall behind and ClickHouse then throttles the insert ("too many parts").
  await client.command({
    clickhouse_settings: { max_block_size: '1048576', max_insert_block_size: '1048576' },
    // The columns named: spend_logs gained columns since (issue 19's pricing fields keep their defaults here).
    query: `INSERT INTO spend_logs (request_id, response_id, start_time, start_time_ms, end_time_ms, duration_ms,
        ttft_ms, call_type, status, error_type, key_hash, key_alias, user_id, team_id, customer_id, model,
        upstream_model, provider, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
        reasoning_tokens, total_tokens, cost_nano, cost_status, usage_estimated, tags, metadata_keys,
        metadata_values, stream, source, inserted_at)
      SELECT ${c.request_id}, concat('resp-', toString(number + ${from})),
        toDateTime(intDiv(${c.start_ms}, 1000)), ${c.start_ms}, ${c.start_ms} + ${c.duration_ms}, ${c.duration_ms}, NULL,
        'chat', ${c.status}, if(${c.status} >= 400, 'upstream_error', ''),
        ${c.key_hash}, '', ${c.user_id}, ${c.team_id}, ${c.customer_id}, ${c.model}, ${c.model}, ${c.provider},
        ${c.prompt_tokens}, ${c.completion_tokens}, 0, 0, 0, ${c.prompt_tokens} + ${c.completion_tokens},
        ${c.cost_nano}, 'priced', 0,
        arraySort(arrayFilter(t -> t != '', [${c.env}, ${c.feature}, ${c.tier}, if(${c.batch}, 'batch', '')])),
        emptyArrayString(), emptyArrayString(), 0, 'proxy', toDateTime(intDiv(${c.start_ms}, 1000))
      FROM numbers(${to - from})`,
  });
}

/** LiteLLM's LiteLLM_SpendLogs (schema.prisma) with its indexes: startTime, (startTime, request_id), end_user, session_id. */
export const POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS "LiteLLM_SpendLogs" (
  request_id TEXT PRIMARY KEY,
  call_type TEXT NOT NULL,
  api_key TEXT NOT NULL DEFAULT '',
  spend DOUBLE PRECISION NOT NULL DEFAULT 0.0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  "startTime" TIMESTAMP(3) NOT NULL,
  "endTime" TIMESTAMP(3) NOT NULL,
  request_duration_ms INTEGER,
  "completionStartTime" TIMESTAMP(3),
  model TEXT NOT NULL DEFAULT '',
  model_id TEXT DEFAULT '',
  model_group TEXT DEFAULT '',
  custom_llm_provider TEXT DEFAULT '',
  api_base TEXT DEFAULT '',
  "user" TEXT DEFAULT '',
  metadata JSONB DEFAULT '{}',
  cache_hit TEXT DEFAULT '',
  cache_key TEXT DEFAULT '',
  request_tags JSONB DEFAULT '[]',
  team_id TEXT,
  organization_id TEXT,
  end_user TEXT,
  requester_ip_address TEXT,
  messages JSONB DEFAULT '{}',
  response JSONB DEFAULT '{}',
  session_id TEXT,
  status TEXT,
  mcp_namespaced_tool_name TEXT,
  agent_id TEXT,
  proxy_server_request JSONB DEFAULT '{}'
)`;
export const POSTGRES_INDEXES = [
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs" ("startTime")`,
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_request_id_idx" ON "LiteLLM_SpendLogs" ("startTime", request_id)`,
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs" (end_user)`,
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_session_id_idx" ON "LiteLLM_SpendLogs" (session_id)`,
];

/** Loads the same calls [from, to) into LiteLLM_SpendLogs (spend as LiteLLM stores it: float dollars). */
export async function loadPostgres(client: pg.Client, total: number, from: number, to: number): Promise<void> {
  const c = callColumns(POSTGRES, total);
  const ts = (ms: string) => `to_timestamp((${ms})::double precision / 1000) AT TIME ZONE 'UTC'`;
  await client.query(`INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens,
      prompt_tokens, completion_tokens, "startTime", "endTime", request_duration_ms, model, model_group,
      custom_llm_provider, "user", metadata, request_tags, team_id, end_user, status)
    SELECT ${c.request_id}, 'acompletion', ${c.key_hash}, (${c.cost_nano})::double precision / 1e9,
      ${c.prompt_tokens} + ${c.completion_tokens}, ${c.prompt_tokens}, ${c.completion_tokens},
      ${ts(c.start_ms)}, ${ts(`${c.start_ms} + ${c.duration_ms}`)}, ${c.duration_ms}, ${c.model}, ${c.model},
      ${c.provider}, ${c.user_id}, jsonb_build_object('user_api_key_team_id', ${c.team_id}),
      to_jsonb(array_remove(ARRAY[${c.env}, ${c.feature}, ${c.tier}, CASE WHEN ${c.batch} THEN 'batch' ELSE '' END], '')),
      ${c.team_id}, NULLIF(${c.customer_id}, ''),
      CASE WHEN ${c.status} >= 400 THEN 'failure' ELSE 'success' END
    FROM generate_series(${from}::bigint, ${to - 1}::bigint) AS n`);
}
