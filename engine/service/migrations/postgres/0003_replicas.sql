-- Replicas: several `layak serve` processes on one database. A running job
-- is held by one process (`owner`, a replica id made at its start) until
-- `lease_until` (ms since the epoch), which that process's heartbeat keeps
-- moving ahead while the job runs. A stage job whose lease has run out (its
-- replica was killed or stalled) is taken over by another replica, which
-- resumes after the job's cursor; a proposal upload whose lease has run out
-- is marked interrupted. Jobs from before this migration have no owner and
-- count as expired. The SQLite migration is the same in that dialect.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
