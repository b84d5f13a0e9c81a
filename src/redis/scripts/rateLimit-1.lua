-- Takes one request from a subject's rate-limit bucket (GCRA, the generic cell rate
-- algorithm: a token bucket stored as a single "theoretical arrival time", TAT).
-- Mirrors gcra() in src/ratelimit/rate-limiter.ts, which runs the same arithmetic in
-- process memory while Redis is down.
--
-- KEYS[1] the subject's bucket: a string holding its TAT (ms since the epoch, Redis' clock)
-- ARGV[1] emission interval: ms per request, 60000 / rate per minute (may be fractional)
-- ARGV[2] burst: the bucket's capacity, requests allowed at once
--
-- Time is Redis' TIME, not the caller's: the bucket lives only here, so every API
-- process judging it with the same clock matters more than agreeing with Postgres.
-- (Redis 5+ replicates a script's effects, not the script, so TIME before a write is safe.)
--
-- An allowed request moves the TAT one interval on and stores it with a PX expiry that
-- ends when the bucket is full again: an idle subject's key vanishes by itself.
-- A refused request writes nothing.
-- Returns { allowed (1 or 0), remaining, retryAfterMs (0 when allowed), resetMs }, all
-- whole numbers: remaining rounded down, the times rounded up.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end

local capacity = burst * interval
local newTat = tat + interval
local allowAt = newTat - capacity
if allowAt > now then
  return { 0, 0, math.ceil(allowAt - now), math.ceil(tat - now) }
end

local resetMs = math.ceil(newTat - now)
redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.max(resetMs, 1))
-- The small addend absorbs float error when the interval is not a whole number of ms.
return { 1, math.floor((now + capacity - newTat) / interval + 1e-9), 0, resetMs }
