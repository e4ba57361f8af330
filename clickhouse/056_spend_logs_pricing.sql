-- Issue 19: every usage dimension, the service tier and the price provenance of each call
-- (docs/spend-record.md, docs/pricing.md), declared with the other columns in src/spendLogColumns.ts.
-- One column per statement: 18.16 has no ADD COLUMN IF NOT EXISTS, so the runner skips a column that exists
-- (a runner that stopped half-way) and, on a cluster, adds it to spend_logs_local on every node and then
-- re-creates the Distributed spend_logs over it (src/clickhouse/migrate.ts).
-- Rows written before this migration read as: 0 for the counts, '' for service_tier, price_source,
-- price_version, unit_prices (read as {}) and corrects_request_id, null provider cost, and a list cost equal
-- to the billed one (no discount or markup existed then). Parts compute these defaults when read until they
-- merge.
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN cache_write_1h_tokens UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN audio_input_tokens UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN image_input_tokens UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN audio_output_tokens UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN image_output_tokens UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN web_search_requests UInt64;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN service_tier String;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN list_cost_nano Int64 DEFAULT cost_nano;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN provider_cost_nano Nullable(Int64);
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN price_source String;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN price_version String;
-- unit_prices: a JSON object of exact decimal strings ({"input":"0.0000025","multiplier":"1"}); 18.16 has no
-- Map, and one String keeps the object as the record holds it (visitParamExtractString reads a key).
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN unit_prices String;
ALTER TABLE spend_logs {{on_cluster}} ADD COLUMN corrects_request_id String;
