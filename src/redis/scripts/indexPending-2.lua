-- Adds PENDING escalations read from Postgres to the pending set (the reconciler),
-- skipping ids a worker holds in inflight right now: re-adding those would let a
-- second worker claim them while the first is executing.
--
-- KEYS[1] pending   sorted set: escalation id -> due time (ms)
-- KEYS[2] inflight  sorted set: escalation id -> lease deadline (ms)
-- ARGV pairs: due (ms), id
-- Returns the number of ids newly added (a corrected score does not count).
-- One ZMSCORE and one ZADD per CHUNK ids, not two commands per id (claimDue-3.lua says
-- why): a rebuild sends every PENDING row through here.
local CHUNK = 500
local added = 0
for first = 1, #ARGV, 2 * CHUNK do
  local last = math.min(first + 2 * CHUNK - 1, #ARGV)
  local ids = {}
  for i = first, last, 2 do ids[#ids + 1] = ARGV[i + 1] end
  local held = redis.call('ZMSCORE', KEYS[2], unpack(ids))
  local toAdd = {}
  for k, id in ipairs(ids) do
    if not held[k] then
      toAdd[#toAdd + 1] = ARGV[first + 2 * (k - 1)]
      toAdd[#toAdd + 1] = id
    end
  end
  if #toAdd > 0 then added = added + redis.call('ZADD', KEYS[1], unpack(toAdd)) end
end
return added
