/**
 * Lua run atomically inside Redis and timed by Redis's own TIME, so the instances' clocks never matter.
 * Levels are kept as decimal strings (Lua numbers are doubles; Redis would truncate returned floats).
 */

/** Two buckets (rpm and tpm) taken together or not at all; returns {wait ms, rpm level, tpm level, rpm ms to full}. */
const TAKE_TWO = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, cap)
  local b = redis.call('HMGET', key, 'level', 'at')
  local l = tonumber(b[1]) or cap
  local at = tonumber(b[2]) or now
  return math.min(cap, l + math.max(0, now - at) * cap / 60000)
end
local function take2(rkey, tkey, rpm, tpm, cost)
  local wait, r, k = 0, -1, -1
  if rpm > 0 then
    r = level(rkey, rpm)
    if r < 1 then wait = math.max(wait, math.ceil((1 - r) * 60000 / rpm)) end
  end
  if tpm > 0 then
    k = level(tkey, tpm)
    if k < cost then wait = math.max(wait, math.ceil((cost - k) * 60000 / tpm)) end
  end
  if wait == 0 then
    if rpm > 0 then r = r - 1 end
    if tpm > 0 then k = k - cost end
  end
  if rpm > 0 then
    redis.call('HSET', rkey, 'level', tostring(r), 'at', now)
    redis.call('PEXPIRE', rkey, 61000)
  end
  if tpm > 0 then
    redis.call('HSET', tkey, 'level', tostring(k), 'at', now)
    redis.call('PEXPIRE', tkey, 61000)
  end
  local full = 0
  if rpm > 0 then full = math.ceil((rpm - r) * 60000 / rpm) end
  return {wait, tostring(r), tostring(k), full}
end
`;

/**
 * Upstream rpm and tpm buckets of a provider or key. KEYS: rpm bucket, tpm bucket. ARGV: rpm (0 =
 * none), tpm (0 = none), tokens to take. Returns {wait ms, rpm level, tpm level, rpm ms to full}.
 */
export const TAKE_RATE = `${TAKE_TWO}
return take2(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
`;

/**
 * Everything a request reads before the pipeline, in one round trip. KEYS: client rpm and tpm
 * buckets, cache entry, lead marker, then budget totals. ARGV: rpm, tpm (0 = none: buckets untouched),
 * tokens, 1 to look up the cache, lead id, lead ms. Returns {wait, rpm level, tpm level, rpm ms to full,
 * entry or false, 1 when this request now leads, 1 when another leads, each budget total or false}.
 */
export const PREFETCH = `${TAKE_TWO}
local out = {0, '-1', '-1', 0, false, 0, 0}
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
if rpm > 0 or tpm > 0 then
  local c = take2(KEYS[1], KEYS[2], rpm, tpm, tonumber(ARGV[3]))
  out[1], out[2], out[3], out[4] = c[1], c[2], c[3], c[4]
end
if ARGV[4] == '1' then
  local entry = redis.call('GET', KEYS[3])
  if entry then out[5] = entry
  elseif redis.call('SET', KEYS[4], ARGV[5], 'NX', 'PX', ARGV[6]) then out[6] = 1
  else out[7] = 1 end
end
for i = 5, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
`;

/** Gives tokens back to (or takes more from) a bucket. KEYS: bucket. ARGV: capacity, delta (+ gives). */
export const ADJUST_BUCKET = `
local b = redis.call('HMGET', KEYS[1], 'level', 'at')
if not b[1] then return 0 end
local cap = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'level', tostring(math.min(cap, tonumber(b[1]) + tonumber(ARGV[2]))))
return 1
`;

/**
 * A concurrency semaphore with expiring leases: a crashed instance's slot frees itself. KEYS: lease
 * zset. ARGV: limit, lease id, lease ms. Returns 1 when taken, else 0.
 */
export const TAKE_LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
`;

/** Extends a held lease (streams refresh theirs). KEYS: lease zset. ARGV: lease id, lease ms. */
export const REFRESH_LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;

/** Adds integer micro-dollars to budget totals. KEYS: totals. ARGV: micros, then each key's ttl ms. */
export const ADD_SPEND = `
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('INCRBY', k, ARGV[1])
  redis.call('PEXPIRE', k, ARGV[i + 1])
end
return out
`;

/** Sets totals not set yet. KEYS: totals. ARGV: pairs of micros and ttl ms, one pair per key. */
export const SEED_SPEND = `
for i, k in ipairs(KEYS) do
  redis.call('SET', k, ARGV[2 * i - 1], 'NX', 'PX', ARGV[2 * i])
end
return 1
`;

/** Polled by a follower. KEYS: cache entry, lead marker. Returns {entry or false, 1 while led}. */
export const CACHE_OR_LED = `
local entry = redis.call('GET', KEYS[1])
if entry then return {entry, 0} end
return {false, redis.call('EXISTS', KEYS[2])}
`;

/** Ends a lead if it is still this caller's. KEYS: lead marker. ARGV: lead id. */
export const END_LEAD = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * An instance's heartbeat; returns how many instances beat within the window. KEYS: instance zset.
 * ARGV: instance id, window ms.
 */
export const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`;
