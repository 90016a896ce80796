import { reportTotals, signaturesOf, signatureTotals } from '../domain/dmarc-figures.ts';
import type { AggregateReport, ReportRecord } from '../domain/dmarc-report.ts';
import { DAY_MS } from '../domain/time.ts';
import { type Db, preparedOnce, type Statements, type Transactional } from './db.ts';

/**
 * DMARC aggregate reports and their records (DESIGN §2.8). Every figure is a number of messages: a record's `count`.
 * A period holds the reports that begin in it (`since` ≤ begin < `until`, epoch ms).
 */

export interface SelectorFigures {
  /** '' when the reports name no selector. */
  selector: string;
  signingDomain: string;
  /** Messages with a DKIM signature of this selector and domain, whatever its result. */
  messages: number;
  /** Of those, the signature passed and its domain is aligned with the From domain. */
  alignedPass: number;
}

export interface FailingSource {
  sourceIp: string;
  messages: number;
  reporters: string[];
}

export interface Coverage {
  from: number;
  to: number;
  /** Whole days from the first report's start to the last one's end (a daily report covers 1). */
  days: number;
}

export interface DmarcSummary {
  messages: number;
  /** DMARC passed: aligned DKIM or aligned SPF, as the receivers evaluated it. */
  dmarcPass: number;
  alignedDkimPass: number;
  alignedSpfPass: number;
  selectors: SelectorFigures[];
  failingSources: FailingSource[];
  reporters: string[];
  covered: Coverage | null;
}

export interface SelectorSeen {
  selector: string;
  signingDomain: string;
  /** Messages whose signature of this selector passed, aligned with the From domain. */
  passed: number;
  /** Passed, but for another domain's mail (a third party signing with its own domain). */
  passedUnaligned: number;
  /** The signature did not pass (fail, temperror, …). */
  failed: number;
  /** The reporters that saw an aligned pass, and those that saw a failure. */
  confirmedBy: string[];
  failedAt: string[];
  covered: Coverage;
}

export type PruneResult = { records: number; reports: number };

/** A domain receivers reported on over a period: its sums, as `summary` gives them. */
export interface ReportedDomain {
  domain: string;
  messages: number;
  dmarcPass: number;
  alignedDkimPass: number;
  alignedSpfPass: number;
  /** How many organisations sent reports. */
  reporters: number;
}

const PERIOD = 'domain = ? AND begin_at >= ? AND begin_at < ?';

/**
 * The summary's queries, each reading one index (see migrations/0007_dmarc.sql): the period's range of the reports'
 * and signatures' sums, and the domain's failing records by source. Exported for EXPLAIN QUERY PLAN.
 * Parameters: domain, since, until (and the number of sources for `failingSources`; domain, source, since, until for
 * `sourceReporters`).
 */
export const SUMMARY_QUERIES = {
  totals: `SELECT TOTAL(messages) AS messages, TOTAL(dmarc_pass) AS dmarcPass, TOTAL(dkim_pass) AS alignedDkimPass,
      TOTAL(spf_pass) AS alignedSpfPass, json_group_array(DISTINCT org_name) AS reporters,
      MIN(begin_at) AS "from", MAX(end_at) AS "to"
    FROM dmarc_reports WHERE ${PERIOD}`,
  selectors: `SELECT selector, signing_domain AS signingDomain, TOTAL(messages) AS messages,
      TOTAL(aligned_pass) AS alignedPass
    FROM dmarc_report_signatures WHERE ${PERIOD}
    GROUP BY selector, signing_domain ORDER BY messages DESC, selector`,
  // The partial index dmarc_records_failing is used only when the query repeats its condition word for word.
  failingSources: `SELECT source_ip AS sourceIp, TOTAL(count) AS messages FROM dmarc_records
    WHERE domain = ? AND begin_at >= ? AND begin_at < ? AND dkim_pass = 0 AND spf_pass = 0
    GROUP BY source_ip ORDER BY messages DESC, source_ip LIMIT ?`,
  sourceReporters: `SELECT DISTINCT p.org_name AS name FROM dmarc_records r JOIN dmarc_reports p ON p.id = r.report_id
    WHERE r.domain = ? AND r.source_ip = ? AND r.begin_at >= ? AND r.begin_at < ? AND r.dkim_pass = 0
      AND r.spf_pass = 0 ORDER BY p.org_name`,
} as const;

/**
 * The domains reported on over a period (since, until: the reports that begin in it), most messages first, with how
 * many there are beyond the limit. A report begins before it ends, so the period's reports are all among those that
 * end after `since`: the range of dmarc_reports_by_end from there, a few days of reports, never the whole history
 * (the planner would otherwise scan dmarc_reports_summary whole for the GROUP BY). Parameters: since, since, until,
 * limit.
 */
export const REPORTED_DOMAINS_QUERY = `SELECT domain, TOTAL(messages) AS messages, TOTAL(dmarc_pass) AS dmarcPass,
    TOTAL(dkim_pass) AS alignedDkimPass, TOTAL(spf_pass) AS alignedSpfPass, COUNT(DISTINCT org_name) AS reporters,
    COUNT(*) OVER () AS total
  FROM dmarc_reports INDEXED BY dmarc_reports_by_end WHERE end_at >= ? AND begin_at >= ? AND begin_at < ?
  GROUP BY domain ORDER BY messages DESC, domain LIMIT ?`;

type TotalsRow = Pick<DmarcSummary, 'messages' | 'dmarcPass' | 'alignedDkimPass' | 'alignedSpfPass'> & CoverageRow;
type CoverageRow = { reporters: string; from: number | null; to: number | null };
type SourceRow = { sourceIp: string; messages: number };
type SeenRow = Omit<SelectorSeen, 'confirmedBy' | 'failedAt' | 'covered'> & {
  confirmedBy: string;
  failedAt: string;
  from: number;
  to: number;
};

export class DmarcRepository {
  private readonly db: Statements;

  constructor(
    database: Db,
    /** The store's one transaction wrapper. */
    private readonly transaction: Transactional,
  ) {
    this.db = preparedOnce(database);
  }

  /** One IMMEDIATE transaction (inside another, a savepoint of it). */
  private write<T>(work: () => T): T {
    return this.transaction.immediate(work);
  }

  /** Stores a report, its records and its sums in one transaction; a report already stored adds nothing. */
  importReport(report: AggregateReport, now: number): 'imported' | 'duplicate' {
    return this.write(() => {
      const totals = reportTotals(report);
      const inserted = this.db
        .prepare(
          `INSERT INTO dmarc_reports (org_name, report_id, email, domain, policy, begin_at, end_at, imported_at, messages,
             dmarc_pass, dkim_pass, spf_pass) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (org_name, report_id) DO NOTHING`,
        )
        .run(
          report.orgName,
          report.reportId,
          report.email ?? null,
          report.policyPublished.domain,
          JSON.stringify(report.policyPublished),
          report.begin,
          report.end,
          now,
          totals.messages,
          totals.dmarcPass,
          totals.dkimPass,
          totals.spfPass,
        );
      if (inserted.changes === 0) return 'duplicate';
      const reportRow = Number(inserted.lastInsertRowid);
      for (const record of report.records) this.insertRecord(reportRow, report, record);
      this.insertSignatureTotals(reportRow, report);
      return 'imported';
    });
  }

  private insertRecord(reportRow: number, report: AggregateReport, record: ReportRecord): void {
    const { domain } = report.policyPublished;
    const recordRow = this.db
      .prepare(
        `INSERT INTO dmarc_records (report_id, domain, begin_at, source_ip, count, disposition, dkim_pass, spf_pass,
           header_from, envelope_from, spf_results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        reportRow,
        domain,
        report.begin,
        record.sourceIp,
        record.count,
        record.disposition,
        record.dkimEvaluated === 'pass' ? 1 : 0,
        record.spfEvaluated === 'pass' ? 1 : 0,
        record.headerFrom,
        record.envelopeFrom ?? null,
        JSON.stringify(record.spf),
      ).lastInsertRowid;
    const insert = this.db.prepare(
      `INSERT INTO dmarc_dkim_results (record_id, domain, begin_at, signing_domain, selector, result, aligned)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const { signingDomain, selector, result, aligned } of signaturesOf(record)) {
      insert.run(recordRow, domain, report.begin, signingDomain, selector, result, aligned ? 1 : 0);
    }
  }

  private insertSignatureTotals(reportRow: number, report: AggregateReport): void {
    const insert = this.db.prepare(
      `INSERT INTO dmarc_report_signatures (report_id, domain, begin_at, signing_domain, selector, messages,
         aligned_pass, unaligned_pass, failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const s of signatureTotals(report)) {
      const { domain } = report.policyPublished;
      insert.run(
        reportRow,
        domain,
        report.begin,
        s.signingDomain,
        s.selector,
        s.messages,
        s.alignedPass,
        s.unalignedPass,
        s.failed,
      );
    }
  }

  /** What receivers reported for a domain over a period, read in one transaction: the figures agree. */
  summary(domain: string, since: number, until: number, topSources = 10): DmarcSummary {
    return this.transaction(() => this.readSummary(domain, since, until, topSources));
  }

  private readSummary(domain: string, since: number, until: number, topSources: number): DmarcSummary {
    const period = [domain, since, until];
    const { reporters, from, to, ...totals } = this.db.prepare(SUMMARY_QUERIES.totals).get(...period) as TotalsRow;
    const selectors = this.db.prepare(SUMMARY_QUERIES.selectors).all(...period) as SelectorFigures[];
    const failing = this.db.prepare(SUMMARY_QUERIES.failingSources).all(...period, topSources) as SourceRow[];
    const reportersOf = (ip: string) =>
      (this.db.prepare(SUMMARY_QUERIES.sourceReporters).all(domain, ip, since, until) as { name: string }[]).map(
        (row) => row.name,
      );
    return {
      ...totals,
      selectors,
      failingSources: failing.map((row) => ({ ...row, reporters: reportersOf(row.sourceIp) })),
      reporters: names(reporters),
      covered: from === null || to === null ? null : coverage(from, to),
    };
  }

  /** The domains receivers reported on over a period, most messages first: `limit` of them, and how many in all. */
  reportedDomains(since: number, until: number, limit: number): { domains: ReportedDomain[]; total: number } {
    const rows = this.db.prepare(REPORTED_DOMAINS_QUERY).all(since, since, until, limit) as (ReportedDomain & {
      total: number;
    })[];
    return { domains: rows.map(({ total: _, ...domain }) => domain), total: rows[0]?.total ?? 0 };
  }

  /** The period of a domain's latest report (the last to begin), epoch ms; undefined when none is stored. */
  latestReport(domain: string): { begin: number; end: number } | undefined {
    return this.db
      .prepare(
        `SELECT begin_at AS begin, end_at AS "end" FROM dmarc_reports WHERE domain = ?
         ORDER BY begin_at DESC, end_at DESC LIMIT 1`,
      )
      .get(domain) as { begin: number; end: number } | undefined;
  }

  /**
   * The DKIM selectors receivers saw signing a domain's mail since a moment: the proof that a selector works in
   * production ("receivers confirm"), or that it fails, and who said so.
   */
  selectorsSeen(domain: string, since: number): SelectorSeen[] {
    const rows = this.db
      .prepare(
        `SELECT s.selector, s.signing_domain AS signingDomain, TOTAL(s.aligned_pass) AS passed,
           TOTAL(s.unaligned_pass) AS passedUnaligned, TOTAL(s.failed) AS failed,
           json_group_array(DISTINCT CASE WHEN s.aligned_pass > 0 THEN p.org_name END) AS confirmedBy,
           json_group_array(DISTINCT CASE WHEN s.failed > 0 THEN p.org_name END) AS failedAt,
           MIN(p.begin_at) AS "from", MAX(p.end_at) AS "to"
         FROM dmarc_report_signatures s JOIN dmarc_reports p ON p.id = s.report_id
         WHERE s.domain = ? AND s.begin_at >= ?
         GROUP BY s.selector, s.signing_domain ORDER BY passed DESC, s.selector`,
      )
      .all(domain, since) as SeenRow[];
    return rows.map(({ confirmedBy, failedAt, from, to, ...figures }) => ({
      ...figures,
      confirmedBy: names(confirmedBy),
      failedAt: names(failedAt),
      covered: coverage(from, to),
    }));
  }

  /** Where the mail whose aligned signature of one selector did not pass came from, most messages first. */
  selectorFailures(domain: string, selector: string, since: number, limit = 10): FailingSource[] {
    const rows = this.db
      .prepare(
        `SELECT r.source_ip AS sourceIp, TOTAL(r.count) AS messages, json_group_array(DISTINCT p.org_name) AS reporters
         FROM dmarc_dkim_results d JOIN dmarc_records r ON r.id = d.record_id JOIN dmarc_reports p ON p.id = r.report_id
         WHERE d.domain = ? AND d.selector = ? AND d.begin_at >= ? AND d.result <> 'pass' AND d.aligned = 1
         GROUP BY r.source_ip ORDER BY messages DESC, r.source_ip LIMIT ?`,
      )
      .all(domain, selector, since, limit) as (SourceRow & { reporters: string })[];
    return rows.map((row) => ({ ...row, reporters: names(row.reporters) }));
  }

  /**
   * Deletes up to `batch` records of the reports that ended before `before` (their DKIM results with them), then
   * those reports once they have no record left (their sums with them). One short transaction: call again until it
   * deletes nothing.
   */
  prune(before: number, batch: number): PruneResult {
    return this.write(() => {
      const records = this.db
        .prepare(
          `DELETE FROM dmarc_records WHERE id IN (SELECT r.id FROM dmarc_reports p
             JOIN dmarc_records r ON r.report_id = p.id WHERE p.end_at < ? LIMIT ?)`,
        )
        .run(before, batch).changes;
      const reports = this.db
        .prepare(
          `DELETE FROM dmarc_reports WHERE id IN (SELECT p.id FROM dmarc_reports p WHERE p.end_at < ?
             AND NOT EXISTS (SELECT 1 FROM dmarc_records r WHERE r.report_id = p.id) LIMIT ?)`,
        )
        .run(before, batch).changes;
      return { records, reports };
    });
  }
}

/** A JSON array from json_group_array: its names, sorted, without the NULL of a CASE that did not match. */
function names(json: string): string[] {
  return (JSON.parse(json) as (string | null)[]).filter((n): n is string => n !== null).sort();
}

function coverage(from: number, to: number): Coverage {
  return { from, to, days: Math.max(1, Math.ceil((to - from) / DAY_MS)) };
}
