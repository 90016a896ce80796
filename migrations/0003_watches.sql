-- Finished domains stay watched: the key that signs, where DNS must serve it, and what was last seen and said.
CREATE TABLE watches (
  domain        TEXT    PRIMARY KEY,
  -- The run whose thread hears about this domain (the setup or rotation that finished last).
  run_id        INTEGER NOT NULL REFERENCES runs (id),
  offer         TEXT    NOT NULL,
  org           TEXT,
  service       TEXT,
  selector      TEXT    NOT NULL,
  record_name   TEXT    NOT NULL,
  target        TEXT    NOT NULL,
  -- When this key started signing (the reminder to rotate counts from here).
  signing_since INTEGER NOT NULL,
  status        TEXT    NOT NULL DEFAULT 'ok',
  observation   TEXT,
  checked_at    INTEGER,
  reminded_at   INTEGER,
  updated_at    INTEGER NOT NULL
);
