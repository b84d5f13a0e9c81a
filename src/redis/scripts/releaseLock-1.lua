-- Releases a lock only if this holder still owns it (its lease may have expired and
-- another process taken it).
--
-- KEYS[1] the lock key
-- ARGV[1] the holder's token
-- Returns 1 if released, 0 if the lock was not ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
