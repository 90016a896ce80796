-- A message being delivered is claimed for a while, so that two processes on one database never post it twice.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
