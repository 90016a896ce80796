-- DMARC aggregate reports (RFC 7489 appendix C, DMARCbis). A report counts once however often it is read: it is
-- identified by (org_name, report_id). Nothing secret is here: reporters' names and their verdicts on our mail.
-- Every figure is a number of messages (a record's `count`). A report's sums are written with its records, in the same
-- transaction, and never change: a domain's summary over a period reads one index entry per report (and one per
-- report and signature for the selectors) instead of every record: 1M records are a few thousand entries.
CREATE TABLE dmarc_reports (
  id          INTEGER PRIMARY KEY,
  org_name    TEXT    NOT NULL,
  report_id   TEXT    NOT NULL,
  email       TEXT,
  -- policy_published: the domain where the receiver found the policy, and the policy it found (JSON).
  domain      TEXT    NOT NULL,
  policy      TEXT    NOT NULL,
  -- The reported period, epoch ms.
  begin_at    INTEGER NOT NULL,
  end_at      INTEGER NOT NULL,
  imported_at INTEGER NOT NULL,
  -- The sums of its records: all messages; DMARC pass (policy_evaluated dkim or spf pass); aligned DKIM; aligned SPF.
  messages    INTEGER NOT NULL,
  dmarc_pass  INTEGER NOT NULL,
  dkim_pass   INTEGER NOT NULL,
  spf_pass    INTEGER NOT NULL,
  UNIQUE (org_name, report_id)
);
CREATE INDEX dmarc_reports_summary ON dmarc_reports (domain, begin_at, end_at, messages, dmarc_pass, dkim_pass,
  spf_pass, org_name);
CREATE INDEX dmarc_reports_by_end ON dmarc_reports (end_at);

-- One row per report record, as the report gives it. The report's domain and start are copied for the indexes.
CREATE TABLE dmarc_records (
  id            INTEGER PRIMARY KEY,
  report_id     INTEGER NOT NULL REFERENCES dmarc_reports (id) ON DELETE CASCADE,
  domain        TEXT    NOT NULL,
  begin_at      INTEGER NOT NULL,
  source_ip     TEXT    NOT NULL,
  count         INTEGER NOT NULL,
  disposition   TEXT    NOT NULL,
  -- policy_evaluated: 1 for pass, 0 for fail (the only two values a report may give).
  dkim_pass     INTEGER NOT NULL,
  spf_pass      INTEGER NOT NULL,
  header_from   TEXT    NOT NULL,
  envelope_from TEXT,
  -- auth_results SPF: [{domain, scope?, result}] as JSON; nothing queries inside it.
  spf_results   TEXT    NOT NULL
);
-- The records that failed DMARC, by source: a partial index holds only them, in the order the top failing sources are
-- summed (no sort of every failing record), and leads from a source to its reporters.
CREATE INDEX dmarc_records_failing ON dmarc_records (domain, source_ip, begin_at, count, report_id)
  WHERE dkim_pass = 0 AND spf_pass = 0;
CREATE INDEX dmarc_records_by_report ON dmarc_records (report_id);

-- auth_results DKIM: one row per signature (signing domain, selector) of a record. `aligned`: the signing domain is
-- aligned with header_from (relaxed, without the public-suffix list: equal, or one a subdomain of the other).
CREATE TABLE dmarc_dkim_results (
  record_id      INTEGER NOT NULL REFERENCES dmarc_records (id) ON DELETE CASCADE,
  domain         TEXT    NOT NULL,
  begin_at       INTEGER NOT NULL,
  signing_domain TEXT    NOT NULL,
  -- '' when the report names none (RFC 7489 makes it optional).
  selector       TEXT    NOT NULL,
  result         TEXT    NOT NULL,
  aligned        INTEGER NOT NULL,
  PRIMARY KEY (record_id, signing_domain, selector)
) WITHOUT ROWID;
CREATE INDEX dmarc_dkim_by_selector ON dmarc_dkim_results (domain, selector, begin_at, result);

-- A report's sums per signature, from the rows above: aligned passes, passes for another domain's mail, failures.
CREATE TABLE dmarc_report_signatures (
  report_id      INTEGER NOT NULL REFERENCES dmarc_reports (id) ON DELETE CASCADE,
  domain         TEXT    NOT NULL,
  begin_at       INTEGER NOT NULL,
  signing_domain TEXT    NOT NULL,
  selector       TEXT    NOT NULL,
  messages       INTEGER NOT NULL,
  aligned_pass   INTEGER NOT NULL,
  unaligned_pass INTEGER NOT NULL,
  failed         INTEGER NOT NULL,
  PRIMARY KEY (report_id, signing_domain, selector)
) WITHOUT ROWID;
CREATE INDEX dmarc_report_signatures_summary ON dmarc_report_signatures (domain, begin_at, selector, signing_domain,
  messages, aligned_pass, unaligned_pass, failed);
