-- Hourly spend rollup keyed by every dimension the query API groups or filters on, with the exact sorted
-- tag set as one key column: any tag combination is hasAll/hasAny(tags, …) here, and any grouping is a
-- GROUP BY over these columns. Kept by a materialized view on spend_logs; SummingMergeTree adds rows with
-- the same key as parts merge, so readers always aggregate with sum(). Monthly partitions: rollups outlive
-- raw retention (raw partitions are dropped daily, these are not touched).
-- status_class is '2xx' / '4xx' / '5xx' (what dashboards ask); duration_ms_sum / requests = mean latency.
CREATE TABLE IF NOT EXISTS spend_hourly {{on_cluster}} (
  hour DateTime,
  team_id String,
  user_id String,
  key_hash String,
  customer_id String,
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
ORDER BY (hour, team_id, model, provider, key_hash, user_id, customer_id, status_class, call_type, tags)
SETTINGS index_granularity = 8192;

-- Backfill before the view exists: rows already in spend_logs (e.g. the table predates this migration).
-- Migrations run at boot before this process starts its worker; see docs/ingest.md for multi-process
-- deployments.
INSERT INTO spend_hourly
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, user_id, key_hash, customer_id, model, provider,
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
GROUP BY hour, team_id, user_id, key_hash, customer_id, model, provider, status_class, call_type, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_mv {{on_cluster}} TO spend_hourly AS
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, user_id, key_hash, customer_id, model, provider,
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
GROUP BY hour, team_id, user_id, key_hash, customer_id, model, provider, status_class, call_type, tags;
