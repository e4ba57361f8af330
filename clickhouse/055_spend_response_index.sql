-- response_id (the provider's id: chatcmpl-…, msg_…, resp_…) → request_id and start_time, so a call can be
-- found by the id its provider gave it (LiteLLM's `/spend/logs?request_id=chatcmpl-…`) with a point lookup:
-- spend_logs is sorted by time first, and a skip index cannot do it on both servers (18.16 has no
-- bloom_filter / tokenbf_v1 indexes). Calls without a provider id (refused, failed, some ingested ones) are
-- not indexed. One provider id may belong to several calls (ingest callers choose it): all are kept.
-- Partitioned by month like spend_request_index (migration 050).
CREATE TABLE IF NOT EXISTS spend_response_index {{on_cluster}} (
  response_id String,
  request_id String,
  start_time DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(start_time)
ORDER BY (response_id, request_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_response_index_mv {{on_cluster}} TO spend_response_index
AS SELECT response_id, request_id, start_time FROM spend_logs WHERE response_id != '';

-- A materialized view only sees inserts made after it exists: index what is already there (a call inserted
-- between the two statements is indexed twice; ReplacingMergeTree and the reader's DISTINCT make it one).
INSERT INTO spend_response_index SELECT response_id, request_id, start_time FROM spend_logs WHERE response_id != '';
