-- request_id → start_time, so one call's detail (/spend/logs/v2/{request_id}) is a point lookup instead of a
-- scan: spend_logs is sorted by time first. Partitioned by month so retention can drop it with the raw table.
CREATE TABLE IF NOT EXISTS spend_request_index {{on_cluster}} (
  request_id String,
  start_time DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(start_time)
ORDER BY request_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS spend_request_index_mv {{on_cluster}} TO spend_request_index
AS SELECT request_id, start_time FROM spend_logs;

-- A materialized view only sees inserts made after it exists: index what is already there.
INSERT INTO spend_request_index SELECT request_id, start_time FROM spend_logs;
