-- The Batch API's own state (src/batches, docs/batches.md): uploaded batch input files and the batches made
-- from them, with who created them. A Batch outlives the proxy that created it (hours, up to the 24 h
-- completion window) and any Redis restart: this table is its source of truth, the worker's poller reads
-- it. Same versioned shape as the control plane (030): a change is a new row with a higher `version`; the
-- current state of an id is argMax(…, version), exact before and after merges. `kind` is `file` (an input
-- file), `output` (a batch's output or error file: whose it is) or `batch`;
-- `state` is what lists filter on (file: `active` | `deleted`; batch: `pending` | `settled`); `doc` is the
-- rest as JSON (money as integer nano-USD).
CREATE TABLE IF NOT EXISTS batch_jobs {{on_cluster}} (
  kind String,
  id String,
  key_hash String,
  state String,
  version UInt64,
  created_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY (kind, id);
