-- The setup's run kind is `setup` (it was `exchange`, from when Exchange was the only offer).
UPDATE runs SET kind = 'setup' WHERE kind = 'exchange';

-- `expired` ends a run too (a group's member whose group card expired): the partial indexes over active runs
-- name every finished state, so that the queries' own condition (the same list) can use them.
DROP INDEX runs_one_active;
CREATE UNIQUE INDEX runs_one_active ON runs (kind, domain)
  WHERE state NOT IN ('done', 'failed', 'cancelled', 'rejected', 'expired');
DROP INDEX runs_active_by_requester;
CREATE INDEX runs_active_by_requester ON runs (requested_by)
  WHERE state NOT IN ('done', 'failed', 'cancelled', 'rejected', 'expired');
