-- Each process working on this database (the bot, the CLI): its boot id owns leases and outbox claims, and its
-- heartbeat says it lives. A PID means something only on its host and in its PID namespace (containers sharing a
-- hostname each have their own), so both are kept.
CREATE TABLE processes (
  id           TEXT    PRIMARY KEY,
  host         TEXT    NOT NULL,
  pid          INTEGER NOT NULL,
  pid_ns       TEXT,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

-- One OVH budget per credentials, shared by every process on the database: a slot per request, held from its grant
-- until a minute after its answer.
CREATE TABLE ovh_slots (
  id         INTEGER PRIMARY KEY,
  budget     TEXT    NOT NULL,
  owner      TEXT    NOT NULL,
  granted_at INTEGER NOT NULL,
  done_at    INTEGER
);
CREATE INDEX ovh_slots_budget ON ovh_slots (budget, granted_at);

-- Retention (RETENTION_DAYS) prunes by age what only grows: delivered messages by their delivery, and runs finished
-- long ago with their trail (found through runs_finished_at and the existing per-run indexes: an index on every event's
-- time would cost a write on every event, Slack's ack path included).
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX runs_finished_at ON runs (updated_at)
  WHERE state IN ('done', 'failed', 'cancelled', 'rejected', 'expired');
