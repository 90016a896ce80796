-- A message being delivered is claimed for a while, so that two processes on one database never post it twice.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;

-- Active runs per requester (MAX_ACTIVE_RUNS_PER_USER is checked on every start, on Slack's ack path).
CREATE INDEX runs_active_by_requester ON runs (requested_by)
  WHERE state NOT IN ('done', 'failed', 'cancelled', 'rejected');
