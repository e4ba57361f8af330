-- Prompts and responses, only when general_settings.store_prompts_in_spend_logs is on. Their own table so
-- spend queries never read them and so they get their own (usually shorter) retention: daily partitions,
-- dropped by the retention job. ReplacingMergeTree because the worker writes payloads before the spend row
-- (a crash between the two repeats the payload, never the spend); readers use `LIMIT 1 BY request_id`.
CREATE TABLE IF NOT EXISTS spend_payloads {{on_cluster}} (
  request_id String,
  start_time DateTime,
  messages String,
  response String,
  inserted_at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toDate(start_time)
ORDER BY (start_time, request_id)
SETTINGS index_granularity = 8192;
