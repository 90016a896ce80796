-- A fleet scan's domains: written when the scan has found them (result NULL), each result written by the step that
-- checked it. A restart goes on with the domains that have none.
CREATE TABLE scan_results (
  run_id   INTEGER NOT NULL REFERENCES runs (id),
  position INTEGER NOT NULL,
  domain   TEXT    NOT NULL,
  -- Where its mail is: the service spec (`exchange/<org>/<service>`, `pro/<service>`, `mxplan`).
  service  TEXT    NOT NULL,
  -- The OVH zone holding its records, NULL when its DNS is elsewhere.
  zone     TEXT,
  result   TEXT,
  PRIMARY KEY (run_id, position),
  UNIQUE (run_id, domain, service)
);
CREATE INDEX scan_results_pending ON scan_results (run_id, position) WHERE result IS NULL;
