-- Settles claims after the Postgres transaction committed (or was given up): drops
-- the ids from inflight and adds escalations to pending, in one step, then wakes
-- the workers if something was added.
--
-- KEYS[1] pending   sorted set: escalation id -> due time (ms)
-- KEYS[2] inflight  sorted set: escalation id -> lease deadline (ms)
-- ARGV[1] wake channel
-- ARGV[2] how many ids to drop from inflight (R)
-- ARGV[3 .. 2+R] those ids
-- ARGV[3+R ..] pairs: due (ms), id, to add to pending
-- Returns the number of ids added to pending.
local removeCount = tonumber(ARGV[2])
-- One command per CHUNK arguments, not one per id (claimDue-3.lua says why). CHUNK
-- is even, so that a chunk of the pairs below never splits one.
local CHUNK = 1000
for i = 3, 2 + removeCount, CHUNK do
  redis.call('ZREM', KEYS[2], unpack(ARGV, i, math.min(i + CHUNK - 1, 2 + removeCount)))
end

local added = 0
local earliest = nil
for i = 3 + removeCount, #ARGV, 2 do
  added = added + 1
  if earliest == nil or tonumber(ARGV[i]) < tonumber(earliest) then earliest = ARGV[i] end
end
for i = 3 + removeCount, #ARGV, CHUNK do
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end

-- The due time is published as given (a string): Lua would print it in exponent notation.
if earliest ~= nil then
  redis.call('PUBLISH', ARGV[1], earliest)
end
return added
