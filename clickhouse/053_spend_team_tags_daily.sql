-- Team × tag-set daily rollup: day × team × status class × exact tag set, no model, provider, key, user or
-- customer. spend_daily keeps model and provider beside the tag set, so on real traffic it holds every
-- model a team used with each of its tag sets each day (≈1.5M rows for a month of 50 teams); the
-- dashboard's tag questions ("top tags", "onboarding spend by team", any tag combination by team) need
-- none of those and read this table, which is that many times smaller. Days are the server's (UTC in every
-- deployment we ship; the planner checks). Same measures and conventions as spend_daily.
CREATE TABLE IF NOT EXISTS spend_team_tags_daily {{on_cluster}} (
  day Date,
  team_id String,
  status_class String,
  tags Array(String),
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
ORDER BY (day, team_id, status_class, tags)
SETTINGS index_granularity = 8192;

-- Backfill before the view exists (as 011/012/051/052 do): a view only sees inserts made after it is
-- created, and migrations run at boot before this process starts its worker.
INSERT INTO spend_team_tags_daily
SELECT
  toDate(start_time) AS day,
  team_id,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
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
GROUP BY day, team_id, status_class, tags;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_team_tags_daily_mv {{on_cluster}} TO spend_team_tags_daily AS
SELECT
  toDate(start_time) AS day,
  team_id,
  concat(toString(intDiv(status, 100)), 'xx') AS status_class,
  tags,
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
GROUP BY day, team_id, status_class, tags;
