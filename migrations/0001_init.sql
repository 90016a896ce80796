-- Runs: one workflow instance each. Times are epoch milliseconds.
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  kind          TEXT    NOT NULL,
  domain        TEXT    NOT NULL,
  state         TEXT    NOT NULL,
  params        TEXT    NOT NULL DEFAULT '{}',
  facts         TEXT    NOT NULL DEFAULT '{}',
  requested_by  TEXT    NOT NULL,
  channel_id    TEXT,
  thread_ts     TEXT,
  next_check_at INTEGER,
  deadline_at   INTEGER,
  last_error    TEXT,
  wait_streak   INTEGER NOT NULL DEFAULT 0,
  version       INTEGER NOT NULL DEFAULT 0,
  lease_owner   TEXT,
  lease_until   INTEGER,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
-- At most one active run per kind and domain.
CREATE UNIQUE INDEX runs_one_active ON runs (kind, domain)
  WHERE state NOT IN ('done', 'failed', 'cancelled', 'rejected');
CREATE INDEX runs_due ON runs (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX runs_domain ON runs (domain, id);

CREATE TABLE approvals (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs (id),
  action       TEXT    NOT NULL,
  snapshot     TEXT    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'pending',
  requested_by TEXT    NOT NULL,
  decided_by   TEXT,
  decided_at   INTEGER,
  reason       TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX approvals_run ON approvals (run_id, status);

-- The audit trail: who asked, who approved, every outside call and its result.
CREATE TABLE events (
  id     INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs (id),
  at     INTEGER NOT NULL,
  actor  TEXT    NOT NULL,
  type   TEXT    NOT NULL,
  detail TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_run ON events (run_id, id);

-- Messages for Slack, written in the same transaction as the step that says them.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER NOT NULL REFERENCES runs (id),
  op              TEXT    NOT NULL,
  channel         TEXT,
  thread_ts       TEXT,
  payload         TEXT    NOT NULL,
  dedupe_key      TEXT    NOT NULL UNIQUE,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  sent_at         INTEGER,
  result_ts       TEXT,
  last_error      TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (run_id, id) WHERE sent_at IS NULL;
