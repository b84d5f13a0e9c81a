-- Claims up to N due escalations atomically, so two workers never claim the same one.
--
-- KEYS[1] pending   sorted set: escalation id -> due time (ms)
-- KEYS[2] inflight  sorted set: escalation id -> lease deadline (ms)
-- KEYS[3] index marker (a plain key)
-- ARGV[1] now (ms, from the caller's clock: one time authority, not Redis TIME)
-- ARGV[2] the most ids to claim
-- ARGV[3] lease length (ms)
--
-- Claims first the ids whose lease expired (their worker died or stalled), then the
-- due pending ids, moving each to inflight with deadline now + lease.
-- Returns { claimed, nextDue, nextLease, markerPresent } where claimed is a flat
-- list id1, due1, id2, due2, ... (due is 0 for a reclaimed id: it was due before),
-- nextDue is the earliest pending due time ('' if none), nextLease the earliest
-- lease deadline ('' if none), and markerPresent is 1 when the index marker exists,
-- 0 when Redis lost it.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local deadline = now + tonumber(ARGV[3])
local claimed = {}
-- The ids to move to inflight, as ZADD's score/member pairs.
local leased = {}

local expired = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  leased[#leased + 1] = deadline
  leased[#leased + 1] = id
  claimed[#claimed + 1] = id
  claimed[#claimed + 1] = '0'
end

local room = limit - #expired
local taken = {}
if room > 0 then
  local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, room, 'WITHSCORES')
  for i = 1, #due, 2 do
    local id = due[i]
    taken[#taken + 1] = id
    leased[#leased + 1] = deadline
    leased[#leased + 1] = id
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = due[i + 1]
  end
end

-- One command per CHUNK arguments, not one per id: each call from Lua costs Redis a
-- command's work and the AOF a command's entry (a claim of 500 ids was 1,000 calls,
-- 10-11 us of Redis per id; 6-7 us this way). In chunks, because unpack() passes its
-- values on Lua's C stack, which holds 8,000.
local CHUNK = 1000
for i = 1, #taken, CHUNK do
  redis.call('ZREM', KEYS[1], unpack(taken, i, math.min(i + CHUNK - 1, #taken)))
end
for i = 1, #leased, CHUNK do
  redis.call('ZADD', KEYS[2], unpack(leased, i, math.min(i + CHUNK - 1, #leased)))
end

local nextDue = ''
local firstPending = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if firstPending[2] then nextDue = firstPending[2] end
local nextLease = ''
local firstLease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if firstLease[2] then nextLease = firstLease[2] end

return { claimed, nextDue, nextLease, redis.call('EXISTS', KEYS[3]) }
