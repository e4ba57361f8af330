-- Raw spend records: one row per call, partitioned by day so retention drops whole partitions.
-- Nullable identity fields are stored as '' (null at the API edge); metadata is two parallel arrays
-- (18.16 has no Map). Times: DateTime for partitioning/filters plus epoch-ms columns for precision.
-- Sorted by hour, then team and key: the common filters (a team's or a key's calls in a time range) read a
-- narrow slice; the ingest worker's duplicate check (request_id within the batch's time window) reads a
-- few granules. Rollups: clickhouse/011_spend_hourly.sql, 012_spend_daily.sql.
CREATE TABLE IF NOT EXISTS spend_logs {{on_cluster}} (
  request_id String,
  response_id String,
  start_time DateTime,
  start_time_ms UInt64,
  end_time_ms UInt64,
  duration_ms UInt32,
  ttft_ms Nullable(UInt32),
  call_type String,
  status UInt16,
  error_type String,
  key_hash String,
  key_alias String,
  user_id String,
  team_id String,
  customer_id String,
  model String,
  upstream_model String,
  provider String,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  cached_tokens UInt64,
  cache_write_tokens UInt64,
  reasoning_tokens UInt64,
  total_tokens UInt64,
  cost_nano Int64,
  cost_status String,
  usage_estimated UInt8,
  tags Array(String),
  metadata_keys Array(String),
  metadata_values Array(String),
  stream UInt8,
  source String,
  inserted_at DateTime
) ENGINE = MergeTree()
PARTITION BY toDate(start_time)
ORDER BY (toStartOfHour(start_time), team_id, key_hash, start_time, request_id)
SETTINGS index_granularity = 8192;
