-- Pricing rollup (issue 19): day × team × model × provider × service tier × price source × record source,
-- with every usage dimension and the billed, list and provider-reported cost. It answers "what did the
-- flex tier save", "how much was billed at the provider's own cost", "what did the discount/markup change"
-- (list_cost_nano − cost_nano) and "what did re-pricing move" (source = 'correction') without reading raw
-- calls. Corrections are rows of their own source: `requests` counts calls only, `corrections` the
-- correction records, and their signed cost deltas are in the cost sums.
-- provider_reported_nano sums the costs the provider reported (spend_logs.provider_cost_nano) of the
-- `provider_reported` calls that had one (named apart from the raw column: ClickHouse substitutes an alias
-- everywhere in its SELECT, so `sum(provider_cost_nano) AS provider_cost_nano` would hide the column from the
-- count beside it).
CREATE TABLE IF NOT EXISTS spend_pricing_daily {{on_cluster}} (
  day Date,
  team_id String,
  model String,
  provider String,
  service_tier String,
  price_source String,
  source String,
  requests UInt64,
  corrections UInt64,
  cost_nano Int64,
  list_cost_nano Int64,
  provider_reported_nano Int64,
  provider_reported UInt64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  cached_tokens UInt64,
  cache_write_tokens UInt64,
  cache_write_1h_tokens UInt64,
  reasoning_tokens UInt64,
  audio_input_tokens UInt64,
  audio_output_tokens UInt64,
  image_input_tokens UInt64,
  image_output_tokens UInt64,
  web_search_requests UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, team_id, model, provider, service_tier, price_source, source)
SETTINGS index_granularity = 8192;

-- The backfill marker after the target: the runner first inserts this view's own SELECT over the calls
-- already stored (a view only sees inserts made after it exists), then creates the view (migrate.ts).
CREATE MATERIALIZED VIEW IF NOT EXISTS spend_pricing_daily_mv {{on_cluster}} TO spend_pricing_daily {{backfill}} AS
SELECT
  toDate(start_time) AS day,
  team_id, model, provider, service_tier, price_source, source,
  countIf(source != 'correction') AS requests,
  countIf(source = 'correction') AS corrections,
  sum(cost_nano) AS cost_nano,
  sum(list_cost_nano) AS list_cost_nano,
  sum(ifNull(provider_cost_nano, 0)) AS provider_reported_nano,
  countIf(isNotNull(provider_cost_nano)) AS provider_reported,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(cached_tokens) AS cached_tokens,
  sum(cache_write_tokens) AS cache_write_tokens,
  sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
  sum(reasoning_tokens) AS reasoning_tokens,
  sum(audio_input_tokens) AS audio_input_tokens,
  sum(audio_output_tokens) AS audio_output_tokens,
  sum(image_input_tokens) AS image_input_tokens,
  sum(image_output_tokens) AS image_output_tokens,
  sum(web_search_requests) AS web_search_requests
FROM spend_logs
GROUP BY day, team_id, model, provider, service_tier, price_source, source;
