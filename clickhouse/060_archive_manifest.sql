-- The archive manifest: one row per exported window and destination, written only after every object of
-- the window is stored. A re-export writes a newer version (ReplacingMergeTree keeps the latest; readers
-- use FINAL). rows / cost_nano / max_inserted_at are the ClickHouse fingerprint at export time: when the
-- live fingerprint differs (late records), the window is exported again.
CREATE TABLE IF NOT EXISTS archive_manifest {{on_cluster}} (
  destination String,
  window_start DateTime,
  window_seconds UInt32,
  rows UInt64,
  cost_nano Int64,
  max_inserted_at DateTime,
  object_keys Array(String),
  object_sha256 Array(String),
  object_bytes Array(UInt64),
  exported_at DateTime,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (destination, window_start);
