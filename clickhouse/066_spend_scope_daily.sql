-- Daily spend per scope value (issue 21): one row per day × scope × value, where a scope is one of the
-- dimensions budgets and anomalies are about — key, team, user, customer, model — or one tag. Every call
-- adds to exactly one row of each of the five scopes (its value there, '' when it has none: calls without
-- a team are the team '' row) and to one `tag` row per tag it carries ('' when it has none, like the
-- query API's tag rows), so the rows of one scope sum to the whole spend and a tag's row is the spend of
-- the calls carrying it. Sorted by (scope, value, day) with small granules: "28 days of 1,000 keys" reads
-- those keys' rows, not a day's worth of every key (spend_key_daily keeps model, provider, user, team,
-- customer, status and call type beside the key: 40M rows for the benchmark's 100M calls over 30 days, where
-- this table keeps ~16k rows a day: 10k keys, 5k users, 1k customers, 50 teams, 20 models, ~20 tags).
-- Corrections (source = 'correction', 063): their cost deltas count in cost_nano, but they are no calls.
-- Days are the server's days (UTC in every deployment we ship); the query planner checks timezone().
CREATE TABLE IF NOT EXISTS spend_scope_daily {{on_cluster}} (
  day Date,
  scope String,
  value String,
  requests UInt64,
  errors UInt64,
  cost_nano Int64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  total_tokens UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (scope, value, day)
SETTINGS index_granularity = 256;

-- The backfill marker after the target: the runner first inserts this view's own SELECT over the calls
-- already stored (a view only sees inserts made after it exists), then creates the view (migrate.ts).
CREATE MATERIALIZED VIEW IF NOT EXISTS spend_scope_daily_mv {{on_cluster}} TO spend_scope_daily {{backfill}} AS
SELECT
  toDate(start_time) AS day,
  tupleElement(scope_value, 1) AS scope,
  tupleElement(scope_value, 2) AS value,
  countIf(source != 'correction') AS requests,
  countIf(status >= 400 AND source != 'correction') AS errors,
  sum(cost_nano) AS cost_nano,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(total_tokens) AS total_tokens
FROM spend_logs
ARRAY JOIN arrayConcat(
  [('key', key_hash), ('team', team_id), ('user', user_id), ('customer', customer_id), ('model', model)],
  if(empty(tags), [('tag', '')], arrayMap(t -> ('tag', t), tags))
) AS scope_value
GROUP BY day, scope, value;
