-- Tagless daily rollup: day × team × model × provider × status class × call type. spend_daily keeps the
-- exact tag set, which multiplies its rows by the number of tag sets a team uses; questions that neither
-- group nor filter by tag ("spend by team this month", "by model per day", totals) read this table, which
-- is that many times smaller. Days are the server's (UTC in every deployment we ship; the planner checks).
CREATE TABLE IF NOT EXISTS spend_team_daily {{on_cluster}} (
  day Date,
  team_id String,
  model String,
  provider String,
  status_class String,
  call_type String,
  requests UInt64,
  errors UInt64,
  unpriced UInt64,
  cost_nano Int64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  cached_tokens UInt64,
  total_tokens UInt64,
  duration_ms_sum UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, team_id, model, provider, status_class, call_type)
SETTINGS index_granularity = 8192;

-- Backfill before the view exists (as 011/012/051 do): a view only sees inserts made after it is created,
-- and migrations run at boot before this process starts its worker.
INSERT INTO spend_team_daily
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type,
  count() AS requests,
  countIf(status >= 400) AS errors,
  countIf(cost_status = 'unpriced') AS unpriced,
  sum(cost_nano) AS cost_nano,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens,
  sum(total_tokens) AS total_tokens,
  sum(toUInt64(duration_ms)) AS duration_ms_sum
FROM spend_logs
GROUP BY day, team_id, model, provider, status_class, call_type;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_team_daily_mv {{on_cluster}} TO spend_team_daily AS
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type,
  count() AS requests,
  countIf(status >= 400) AS errors,
  countIf(cost_status = 'unpriced') AS unpriced,
  sum(cost_nano) AS cost_nano,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens,
  sum(total_tokens) AS total_tokens,
  sum(toUInt64(duration_ms)) AS duration_ms_sum
FROM spend_logs
GROUP BY day, team_id, model, provider, status_class, call_type;
