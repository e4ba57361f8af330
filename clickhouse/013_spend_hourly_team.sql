-- Team-grain hourly rollup: (hour, team, model, provider, status class, call_type, exact tag set) — no user,
-- key or customer. On realistic traffic spend_hourly stays close to raw (keys × customers × models × tag
-- sets per hour), while this one answers the dashboard's time series by team / model / provider / tag
-- from far fewer rows (bench/ingest.ts measures both). Same measures and conventions as spend_hourly.
CREATE TABLE IF NOT EXISTS spend_hourly_team {{on_cluster}} (
  hour DateTime,
  team_id String,
  model String,
  provider String,
  status_class String,
  call_type String,
  tags Array(String),
  requests UInt64,
  errors UInt64,
  unpriced UInt64,
  cost_nano Int64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  cached_tokens UInt64,
  cache_write_tokens UInt64,
  reasoning_tokens UInt64,
  total_tokens UInt64,
  duration_ms_sum UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, team_id, model, provider, status_class, call_type, tags)
SETTINGS index_granularity = 8192;

INSERT INTO spend_hourly_team
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type, tags,
  count() AS requests,
  countIf(status >= 400) AS errors,
  countIf(cost_status = 'unpriced') AS unpriced,
  sum(cost_nano) AS cost_nano,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens,
  sum(cache_write_tokens) AS cache_write_tokens,
  sum(reasoning_tokens) AS reasoning_tokens,
  sum(total_tokens) AS total_tokens,
  sum(toUInt64(duration_ms)) AS duration_ms_sum
FROM spend_logs
GROUP BY hour, team_id, model, provider, status_class, call_type, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_team_mv {{on_cluster}} TO spend_hourly_team AS
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type, tags,
  count() AS requests,
  countIf(status >= 400) AS errors,
  countIf(cost_status = 'unpriced') AS unpriced,
  sum(cost_nano) AS cost_nano,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens,
  sum(cache_write_tokens) AS cache_write_tokens,
  sum(reasoning_tokens) AS reasoning_tokens,
  sum(total_tokens) AS total_tokens,
  sum(toUInt64(duration_ms)) AS duration_ms_sum
FROM spend_logs
GROUP BY hour, team_id, model, provider, status_class, call_type, tags;
