-- Per-key daily rollup: key first in the sort order, so "one key's spend" (a virtual key reading its own
-- usage, /key/info, the dashboard's key page) reads a handful of granules instead of every hour of every
-- key. No tag set (keys × tag sets would multiply rows); questions about tags use spend_daily/spend_hourly.
-- Days are the server's days (UTC in every deployment we ship); the query planner checks timezone().
CREATE TABLE IF NOT EXISTS spend_key_daily {{on_cluster}} (
  key_hash String,
  day Date,
  model String,
  provider String,
  user_id String,
  team_id String,
  customer_id String,
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
ORDER BY (key_hash, day, model, provider, user_id, team_id, customer_id, status_class, call_type)
SETTINGS index_granularity = 8192;

-- Backfill before the view exists (as 011/012 do): a view only sees inserts made after it is created, and
-- migrations run at boot before this process starts its worker.
INSERT INTO spend_key_daily
SELECT
  key_hash,
  toDate(start_time) AS day,
  model, provider, user_id, team_id, customer_id,
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
GROUP BY key_hash, day, model, provider, user_id, team_id, customer_id, status_class, call_type;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_key_daily_mv {{on_cluster}} TO spend_key_daily AS
SELECT
  key_hash,
  toDate(start_time) AS day,
  model, provider, user_id, team_id, customer_id,
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
GROUP BY key_hash, day, model, provider, user_id, team_id, customer_id, status_class, call_type;
