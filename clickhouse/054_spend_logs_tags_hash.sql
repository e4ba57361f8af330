-- The tag set of a call as one number, so a raw question with a tag filter reads 8 bytes a call instead of
-- the whole tags array (measured at 10M calls: the array read costs ~25× a UInt64 column's). The query engine
-- finds the sets a filter matches in spend_team_tags_daily (day × team × status × set) and reads
-- `tags_hash IN (their hashes)` here: src/query/tagSetIndex.ts, which also checks that no matching set
-- shares its hash with one that does not match.
-- The hash is of a string, not of the array: cityHash64 of a String is fixed across ClickHouse versions (an
-- upgrade must not change the hashes stored earlier). Each tag is written length-first ("3:a,b"), so no
-- tag text can make two different sets one string. The engine spells the same expression (TAGS_HASH).
-- MATERIALIZED: computed by ClickHouse on insert (writers send no such field); parts written before this
-- migration compute it when read, until they merge.
ALTER TABLE spend_logs {{on_cluster}}
  ADD COLUMN tags_hash UInt64
  MATERIALIZED cityHash64(arrayStringConcat(arrayMap(t -> concat(toString(length(t)), ':', t), tags), ','));
