-- The bot's DMARC work per domain (DESIGN §2.8): the SPF and DMARC records it wrote (or found right and adopted), the
-- policy it last wrote and the one before a step-up (for a rollback), its proposals, and the watch on those records.
CREATE TABLE dmarc_domains (
  domain          TEXT    PRIMARY KEY,
  -- The dmarc run that last wrote (its thread is where the journey speaks) and who asked for the first one.
  run_id          INTEGER NOT NULL,
  requested_by    TEXT    NOT NULL,
  channel_id      TEXT,
  -- The records as DNS must serve them; NULL when the bot did not write or adopt that one.
  spf             TEXT,
  dmarc           TEXT    NOT NULL,
  policy          TEXT    NOT NULL,
  -- When the records were last written (or adopted): a stricter policy needs DMARC_STEP_UP_DAYS of evidence after it.
  policy_since    INTEGER NOT NULL,
  -- Before the last step-up: where a rollback goes. NULL once rolled back, or never stepped up.
  previous_policy TEXT,
  stepped_up_at   INTEGER,
  -- The last proposal of a stricter policy (started, whatever became of it): no second one before the evidence period.
  proposed_at     INTEGER,
  -- A fall of DMARC passes after a step-up, said once with a rollback card; cleared when passes recover.
  fall_said_at    INTEGER,
  records_status  TEXT    NOT NULL DEFAULT 'ok',
  observation     TEXT,
  checked_at      INTEGER,
  updated_at      INTEGER NOT NULL
);

-- What the receivers' reports said once about a domain's signing selector: `proof` (passing aligned DKIM) and
-- `failing` (more failures than passes). The primary key makes each said once, whichever process reads the reports.
CREATE TABLE dmarc_notes (
  domain   TEXT    NOT NULL,
  selector TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  said_at  INTEGER NOT NULL,
  PRIMARY KEY (domain, selector, kind)
) WITHOUT ROWID;
