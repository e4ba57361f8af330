-- Coarse daily rollup: team × model × provider × status class × exact tag set per day. The hourly rollup
-- carries user, key and customer too, which on real traffic keeps it within a small factor of raw; this
-- one answers the dashboard's "spend by team / model / tag over months" from far fewer rows (row counts
-- measured by bench/ingest.ts and in docs/ingest.md). Same conventions as spend_hourly.
CREATE TABLE IF NOT EXISTS spend_daily {{on_cluster}} (
  day Date,
  team_id String,
  model String,
  provider String,
  status_class String,
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
PARTITION BY toYYYYMM(day)
ORDER BY (day, team_id, model, provider, status_class, tags)
SETTINGS index_granularity = 8192;

INSERT INTO spend_daily
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
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
GROUP BY day, team_id, model, provider, status_class, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_daily_mv {{on_cluster}} TO spend_daily AS
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
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
GROUP BY day, team_id, model, provider, status_class, tags;
