-- Control plane: keys, teams, team members, users, customers, tags and reusable budget tiers.
-- Every table has the same small versioned shape so one store (src/management/store.ts) serves them all:
-- a change is a new row with a higher `version` (deletion = a row with deleted = 1); the current state of
-- an id is argMax(…, version), which is exact before and after background merges (ReplacingMergeTree only
-- keeps the table small). `doc` holds the entity as JSON (money as integer nano-USD); the typed columns
-- beside it are the ones lists filter on. `listed` = 0 hides rows that exist only for lookups (a rotated
-- key's grace-period alias).
CREATE TABLE IF NOT EXISTS control_keys {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_teams {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_team_members {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_users {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_customers {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_tags {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;

CREATE TABLE IF NOT EXISTS control_budgets {{on_cluster}} (
  id String,
  alias String,
  team_id String,
  user_id String,
  listed UInt8,
  version UInt64,
  deleted UInt8,
  updated_at DateTime,
  doc String
) ENGINE = ReplacingMergeTree(version) ORDER BY id;
