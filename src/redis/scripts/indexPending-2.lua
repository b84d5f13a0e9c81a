-- Adds PENDING escalations read from Postgres to the pending set (the reconciler),
-- skipping ids a worker holds in inflight right now: re-adding those would let a
-- second worker claim them while the first is executing.
--
-- KEYS[1] pending   sorted set: escalation id -> due time (ms)
-- KEYS[2] inflight  sorted set: escalation id -> lease deadline (ms)
-- ARGV pairs: due (ms), id
-- Returns the number of ids newly added (a corrected score does not count).
local added = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i + 1]
  if not redis.call('ZSCORE', KEYS[2], id) then
    added = added + redis.call('ZADD', KEYS[1], ARGV[i], id)
  end
end
return added
