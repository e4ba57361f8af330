// The Redis Lua scripts of the budget ledger. Each runs atomically, so a call is admitted against every
// scope at once or not at all, across any number of proxy instances. Key layout (ledger.ts): every key of
// the ledger starts with the hash tag `{budget}`, so all of them live in one Redis Cluster slot and a script
// may touch any of them (reservations record full key names, which the sweep reads back).
// Amounts are passed to HINCRBY as the caller's decimal strings (a Lua number could be rendered as 1e+15);
// TTLs are relative (seconds from the call's own clock), so an injected test clock works against real Redis;
// comparisons use Lua doubles, exact for integers below 2^53 (≈ 9,007,199 USD in nano-USD per scope and period).

/**
 * Lua helpers shared by both scripts. A reservation records, per scope, the counter's generation (set by
 * LOAD_SCOPE from a global sequence): its amount is given back only to the counter it was taken from, so a
 * counter rebuilt after Redis lost that one key is never decremented for reservations it never held.
 */
const RELEASE_RESERVATION = `
local function release(lines, amount)
  if not amount or amount == '0' then return end
  for line in string.gmatch(lines or '', '[^\\n]+') do
    local skey, gen = string.match(line, '^(.*)\\t([^\\t]*)$')
    if skey and redis.call('HGET', skey, 'gen') == gen then redis.call('HINCRBY', skey, 'reserved', '-' .. amount) end
  end
end
`;

/**
 * ADMIT_CALL — sweep expired reservations, check every budget and rate scope, then apply all or nothing.
 * KEYS: [1] reservation index (zset: reservation key → expiry ms), [2] this call's reservation hash,
 *       [3 .. 2+nb] budget scope hashes {spent, reserved, loaded, gen, alerted},
 *       then per rate scope three keys: rpm window counter, tpm window counter, parallel zset.
 * ARGV: [1] now ms, [2] amount nano, [3] reservation ttl ms, [4] request id, [5] nb, [6] nr, [7] prompt tokens,
 *       then per budget scope: max nano (-1 = none), counter ttl (s, 0 = none),
 *       then per rate scope: rpm limit, tpm limit, parallel limit (-1 = none), window counter ttl (s).
 * Returns {1, rpm_1, tpm_1, …} admitted (window counts after this call) | {0, 'load', i…} scopes whose period
 * is not loaded yet | {0, 'budget', i, spent, reserved} | {0, 'rpm'|'tpm'|'parallel', i, used}.
 */
export const ADMIT_CALL = `
${RELEASE_RESERVATION}
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local rid = ARGV[4]
local nb = tonumber(ARGV[5])
local nr = tonumber(ARGV[6])

-- Sweep: reservations of calls whose proxy never settled them (crash, lost connection) give their amount back.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
for _, rkey in ipairs(expired) do
  local r = redis.call('HMGET', rkey, 'amount', 'scopes', 'parallel', 'rid')
  if r[1] then
    release(r[2], r[1])
    for pkey in string.gmatch(r[3] or '', '[^\\n]+') do redis.call('ZREM', pkey, r[4]) end
    redis.call('DEL', rkey)
  end
  redis.call('ZREM', KEYS[1], rkey)
end

if redis.call('EXISTS', KEYS[2]) == 1 then return {1} end

local missing = {}
for i = 1, nb do
  if redis.call('HGET', KEYS[2 + i], 'loaded') ~= '1' then missing[#missing + 1] = i end
end
if #missing > 0 then
  local out = {0, 'load'}
  for _, i in ipairs(missing) do out[#out + 1] = i end
  return out
end

for i = 1, nb do
  local limit = tonumber(ARGV[6 + 2 * i])
  if limit >= 0 then
    local v = redis.call('HMGET', KEYS[2 + i], 'spent', 'reserved')
    local spent = tonumber(v[1] or '0')
    local reserved = tonumber(v[2] or '0')
    if spent + reserved + amount > limit or spent + reserved >= limit then
      return {0, 'budget', i, spent, reserved}
    end
  end
end

local rbase = 2 + nb
local abase = 7 + 2 * nb
for j = 1, nr do
  local rpm = tonumber(ARGV[abase + 4 * (j - 1) + 1])
  local tpm = tonumber(ARGV[abase + 4 * (j - 1) + 2])
  local par = tonumber(ARGV[abase + 4 * (j - 1) + 3])
  local k = rbase + 3 * (j - 1)
  if rpm >= 0 and tonumber(redis.call('GET', KEYS[k + 1]) or '0') >= rpm then
    return {0, 'rpm', j, tonumber(redis.call('GET', KEYS[k + 1]) or '0')}
  end
  if tpm >= 0 and tonumber(redis.call('GET', KEYS[k + 2]) or '0') >= tpm then
    return {0, 'tpm', j, tonumber(redis.call('GET', KEYS[k + 2]) or '0')}
  end
  if par >= 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now)
    local inflight = redis.call('ZCARD', KEYS[k + 3])
    if inflight >= par then return {0, 'parallel', j, inflight} end
  end
end

-- Every scope agreed: apply.
local scopes = {}
for i = 1, nb do
  local skey = KEYS[2 + i]
  redis.call('HINCRBY', skey, 'reserved', ARGV[2])
  local counterTtl = tonumber(ARGV[7 + 2 * i])
  if counterTtl > 0 then redis.call('EXPIRE', skey, counterTtl) end
  scopes[#scopes + 1] = skey .. '\\t' .. (redis.call('HGET', skey, 'gen') or '')
end
local out = {1}
local parallel = {}
for j = 1, nr do
  local k = rbase + 3 * (j - 1)
  local windowTtl = tonumber(ARGV[abase + 4 * (j - 1) + 4])
  out[#out + 1] = redis.call('INCR', KEYS[k + 1])
  redis.call('EXPIRE', KEYS[k + 1], windowTtl)
  out[#out + 1] = redis.call('INCRBY', KEYS[k + 2], ARGV[7])
  redis.call('EXPIRE', KEYS[k + 2], windowTtl)
  if tonumber(ARGV[abase + 4 * (j - 1) + 3]) >= 0 then
    redis.call('ZADD', KEYS[k + 3], now + ttl, rid)
    redis.call('PEXPIRE', KEYS[k + 3], ttl)
    parallel[#parallel + 1] = KEYS[k + 3]
  end
end
redis.call('HSET', KEYS[2], 'amount', ARGV[2], 'scopes', table.concat(scopes, '\\n'),
  'parallel', table.concat(parallel, '\\n'), 'rid', rid)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
redis.call('ZADD', KEYS[1], now + ttl, KEYS[2])
return out
`;

/**
 * SETTLE_CALL — once per request id: release the reservation, add the actual cost to every budget scope,
 * add the token correction to the tpm windows (completion tokens, plus the real prompt minus the bound the
 * admission counted when still in its window; never below 0), leave the parallel sets, and report scopes
 * that crossed their soft budget now.
 * KEYS: [1] reservation index, [2] reservation hash, [3] settled marker, [4 .. 3+nb] budget scope hashes,
 *       then per rate scope two keys: tpm window counter, parallel zset.
 * ARGV: [1] cost nano, [2] nb, [3] nr, [4] tokens to add (signed), [5] request id, [6] marker ttl s,
 *       then per budget scope: soft budget nano (-1 = none), counter ttl (s, 0 = none).
 * Returns {0} already settled | {1, i…} settled; i = budget scopes whose soft budget alert is due.
 */
export const SETTLE_CALL = `
${RELEASE_RESERVATION}
local nb = tonumber(ARGV[2])
local nr = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[6])) then return {0} end

-- A swept or flushed reservation was already given back: only a live one is released here.
local live = redis.call('HMGET', KEYS[2], 'amount', 'scopes')
release(live[2], live[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], KEYS[2])
local out = {1}
for i = 1, nb do
  local skey = KEYS[3 + i]
  local spent = redis.call('HINCRBY', skey, 'spent', ARGV[1])
  local counterTtl = tonumber(ARGV[7 + 2 * (i - 1) + 1])
  if counterTtl > 0 and redis.call('TTL', skey) < 0 then redis.call('EXPIRE', skey, counterTtl) end
  local soft = tonumber(ARGV[7 + 2 * (i - 1)])
  if soft >= 0 and spent >= soft and redis.call('HSETNX', skey, 'alerted', '1') == 1 then out[#out + 1] = i end
end
local base = 3 + nb
for j = 1, nr do
  if tokens ~= 0 then
    local used = redis.call('INCRBY', KEYS[base + 2 * j - 1], tokens)
    if used < 0 then redis.call('INCRBY', KEYS[base + 2 * j - 1], -used) end
    if redis.call('TTL', KEYS[base + 2 * j - 1]) < 0 then redis.call('EXPIRE', KEYS[base + 2 * j - 1], 120) end
  end
  redis.call('ZREM', KEYS[base + 2 * j], ARGV[5])
end
return out
`;

/**
 * LOAD_SCOPE — marks a scope's period as loaded, adding the spend ClickHouse has for it. Only the first
 * loader counts (concurrent loaders on other instances read the same ClickHouse total and are ignored).
 * KEYS: [1] scope hash, [2] generation sequence. ARGV: [1] spend nano from ClickHouse, [2] counter ttl (s, 0 = none).
 * Returns 1 when loaded now, 0 when it already was.
 */
export const LOAD_SCOPE = `
if redis.call('HGET', KEYS[1], 'loaded') == '1' then return 0 end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
redis.call('HSET', KEYS[1], 'loaded', '1', 'gen', redis.call('INCR', KEYS[2]))
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1
`;
