-- The overrides of some schedules that overlap a window [from, to).
-- $1 schedule ids (uuid[]), $2 from, $3 to
-- Returns: the override rows, earliest first.
SELECT * FROM schedule_overrides
WHERE schedule_id = ANY($1::uuid[]) AND starts_at < $3::timestamptz AND ends_at > $2::timestamptz
ORDER BY starts_at, created_at, id;
