-- Bounds the worker's transaction it runs in (SET LOCAL: the pooled session is left
-- as it was). See src/worker/transaction.ts for why and how they follow the lease.
-- $1 lock_timeout, $2 idle_in_transaction_session_timeout (text, e.g. '250ms')
-- Returns: one row (unused).
SELECT set_config('lock_timeout', $1::text, true), set_config('idle_in_transaction_session_timeout', $2::text, true);
