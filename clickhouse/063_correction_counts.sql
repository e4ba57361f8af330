-- Re-pricing corrections (docs/repricing.md) are rows of spend_logs with `source = 'correction'`: a signed
-- cost delta for an earlier call, with that call's attribution and start_time, so they land in the same
-- rollup rows as the call they correct. They are not calls: the rollups' views count every row as a
-- request (and as an error or an unpriced call by its status and cost_status), so for each rollup a second
-- view adds, for the same group, minus those counts. Its cost is 0: the correction's cost delta stays.
-- Why this and not a `corrections` column: 18.16 refuses an insert into a view's target table that has a
-- column the view does not produce ("Expected column …"), so adding a column to a rollup would break every
-- existing view until it is re-created, and re-creating a view loses or doubles the inserts in between.
-- The counts are UInt64: minus n is stored as 2^64 − n and every reader sums (sum() of UInt64 wraps), so a
-- group's sum is its calls exactly, on one server, after merges, and across shards (a correction and its
-- call may sit on different shards: each shard's partial sum wraps, the Distributed sum wraps back).
-- No backfill: corrections exist only from this version on.

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_corrections_mv {{on_cluster}} TO spend_hourly AS
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, user_id, key_hash, customer_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type, tags,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS cache_write_tokens,
  toUInt64(0) AS reasoning_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY hour, team_id, user_id, key_hash, customer_id, model, provider, status_class, call_type, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_daily_corrections_mv {{on_cluster}} TO spend_daily AS
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS cache_write_tokens,
  toUInt64(0) AS reasoning_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY day, team_id, model, provider, status_class, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_hourly_team_corrections_mv {{on_cluster}} TO spend_hourly_team AS
SELECT
  toStartOfHour(start_time) AS hour,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type, tags,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS cache_write_tokens,
  toUInt64(0) AS reasoning_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY hour, team_id, model, provider, status_class, call_type, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_key_daily_corrections_mv {{on_cluster}} TO spend_key_daily AS
SELECT
  key_hash,
  toDate(start_time) AS day,
  model, provider, user_id, team_id, customer_id,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY key_hash, day, model, provider, user_id, team_id, customer_id, status_class, call_type;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_team_daily_corrections_mv {{on_cluster}} TO spend_team_daily AS
SELECT
  toDate(start_time) AS day,
  team_id, model, provider,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  call_type,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY day, team_id, model, provider, status_class, call_type;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_team_tags_daily_corrections_mv {{on_cluster}} TO spend_team_tags_daily AS
SELECT
  toDate(start_time) AS day,
  team_id,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
  toUInt64(0 - count()) AS requests,
  toUInt64(0 - countIf(status >= 400)) AS errors,
  toUInt64(0 - countIf(cost_status = 'unpriced')) AS unpriced,
  toInt64(0) AS cost_nano,
  toUInt64(0) AS prompt_tokens,
  toUInt64(0) AS completion_tokens,
  toUInt64(0) AS cached_tokens,
  toUInt64(0) AS total_tokens,
  toUInt64(0) AS duration_ms_sum
FROM spend_logs
WHERE source = 'correction'
GROUP BY day, team_id, status_class, tags;
