-- The providers' own daily cost reports (OpenAI's organization Costs API, Anthropic's Admin cost report),
-- imported by the worker for reconciliation (docs/finops.md). One row per day × provider × line item.
-- Every import of a day writes all of that day's line items with one new version: ReplacingMergeTree keeps
-- the latest row per key, and readers keep only the day's latest version (argMax / max(version)), so a
-- re-import replaces the day whole — a line item the provider has since dropped disappears — and never adds.
-- model is the provider's model for the line item ('' for tool calls, storage, …).
CREATE TABLE IF NOT EXISTS provider_costs {{on_cluster}} (
  day Date,
  provider String,
  line_item String,
  model String,
  cost_nano Int64,
  imported_at DateTime,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (day, provider, line_item);
