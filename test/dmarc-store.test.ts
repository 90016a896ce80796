import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AggregateReport, ReportRecord } from '../src/domain/dmarc-report.ts';
import { SUMMARY_QUERIES } from '../src/store/dmarc.ts';
import { Store } from '../src/store/index.ts';
import { HOSTILE_ORG } from './sim/dmarc-reports.ts';

const DAY = 86_400_000;
/** 2026-11-01T00:00:00Z */
const DAY1 = Date.UTC(2026, 10, 1);

function freshStore(): Store {
  return Store.open(join(mkdtempSync(join(tmpdir(), 'dkim-dmarc-')), 'db.sqlite'));
}

function report(orgName: string, reportId: string, domain: string, day: number, records: ReportRecord[]) {
  const begin = DAY1 + (day - 1) * DAY;
  return {
    orgName,
    reportId,
    begin,
    end: begin + DAY - 1000,
    policyPublished: { domain, p: 'none', adkim: 'r', aspf: 'r' },
    records,
  } satisfies AggregateReport;
}

type Sig = [domain: string, selector: string, result: string];

function record(
  sourceIp: string,
  count: number,
  dkim: 'pass' | 'fail',
  spf: 'pass' | 'fail',
  sigs: Sig[],
  from = 'example.fr',
) {
  return {
    sourceIp,
    count,
    disposition: 'none',
    dkimEvaluated: dkim,
    spfEvaluated: spf,
    headerFrom: from,
    dkim: sigs.map(([domain, selector, result]) => ({ domain, selector, result })),
    spf: [{ domain: from, scope: 'mfrom', result: spf }],
  } satisfies ReportRecord;
}

/** Two reporters over two days for example.fr, one report of another domain, one of example.fr ten days later. */
const CRAFTED = [
  report('google.com', 'g-1', 'example.fr', 1, [
    record('192.0.2.1', 100, 'pass', 'pass', [['example.fr', 'sel1', 'pass']]),
    record('192.0.2.2', 20, 'pass', 'fail', [
      ['example.fr', 'sel1', 'pass'],
      ['sendgrid.net', 's1', 'pass'],
    ]),
    record('198.51.100.7', 5, 'fail', 'fail', [['example.fr', 'sel1', 'fail']]),
  ]),
  report(HOSTILE_ORG, 'o-1', 'example.fr', 2, [
    record('192.0.2.1', 50, 'fail', 'pass', [['example.fr', 'sel2', 'fail']]),
    record('198.51.100.7', 7, 'fail', 'fail', []),
    record('203.0.113.9', 1, 'fail', 'fail', [['other.example', 'sel9', 'pass']], 'news.example.fr'),
  ]),
  report('google.com', 'g-2', 'other.fr', 1, [
    record('192.0.2.1', 1000, 'pass', 'pass', [['other.fr', 'sel1', 'pass']]),
  ]),
  report('google.com', 'g-3', 'example.fr', 10, [
    record('192.0.2.1', 30, 'pass', 'pass', [['example.fr', 'sel1', 'pass']]),
  ]),
];

function rows(store: Store): Record<string, number> {
  const count = (table: string) => (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    reports: count('dmarc_reports'),
    records: count('dmarc_records'),
    dkim: count('dmarc_dkim_results'),
    sums: count('dmarc_report_signatures'),
  };
}

test('a report read twice adds 0 rows the second time', () => {
  const store = freshStore();
  const first = CRAFTED[0]!;
  assert.equal(store.dmarc.importReport(first, 1), 'imported');
  const after = rows(store);
  assert.deepEqual(after, { reports: 1, records: 3, dkim: 4, sums: 2 });
  assert.equal(store.dmarc.importReport(first, 2), 'duplicate');
  assert.equal(store.dmarc.importReport({ ...first, records: [...first.records, ...first.records] }, 3), 'duplicate');
  assert.deepEqual(rows(store), after);
  assert.equal(store.dmarc.importReport({ ...first, orgName: 'Google.com' }, 4), 'imported', 'another reporter');
});

test('a signature listed twice in one record counts once, a pass kept over a failure', () => {
  const store = freshStore();
  const twice = record('192.0.2.1', 4, 'pass', 'pass', [
    ['example.fr', 'sel1', 'fail'],
    ['example.fr', 'sel1', 'pass'],
    ['example.fr', 'sel1', 'temperror'],
  ]);
  store.dmarc.importReport(report('google.com', 'x', 'example.fr', 1, [twice]), 1);
  const { selectors } = store.dmarc.summary('example.fr', DAY1, DAY1 + DAY);
  assert.deepEqual(selectors, [{ selector: 'sel1', signingDomain: 'example.fr', messages: 4, alignedPass: 4 }]);
});

test('the summary of a domain over a period: every figure exact', () => {
  const store = freshStore();
  for (const r of CRAFTED) assert.equal(store.dmarc.importReport(r, 1), 'imported');
  const summary = store.dmarc.summary('example.fr', DAY1, DAY1 + 3 * DAY);
  assert.deepEqual(summary, {
    messages: 183,
    dmarcPass: 170,
    alignedDkimPass: 120,
    alignedSpfPass: 150,
    selectors: [
      { selector: 'sel1', signingDomain: 'example.fr', messages: 125, alignedPass: 120 },
      { selector: 'sel2', signingDomain: 'example.fr', messages: 50, alignedPass: 0 },
      { selector: 's1', signingDomain: 'sendgrid.net', messages: 20, alignedPass: 0 },
      { selector: 'sel9', signingDomain: 'other.example', messages: 1, alignedPass: 0 },
    ],
    failingSources: [
      { sourceIp: '198.51.100.7', messages: 12, reporters: [HOSTILE_ORG, 'google.com'] },
      { sourceIp: '203.0.113.9', messages: 1, reporters: [HOSTILE_ORG] },
    ],
    reporters: [HOSTILE_ORG, 'google.com'],
    covered: { from: DAY1, to: DAY1 + 2 * DAY - 1000, days: 2 },
  });
  assert.equal(store.dmarc.summary('example.fr', DAY1, DAY1 + 3 * DAY, 1).failingSources.length, 1);
  assert.deepEqual(store.dmarc.summary('nothing.fr', DAY1, DAY1 + 3 * DAY), {
    messages: 0,
    dmarcPass: 0,
    alignedDkimPass: 0,
    alignedSpfPass: 0,
    selectors: [],
    failingSources: [],
    reporters: [],
    covered: null,
  });
});

test('the selectors receivers saw: aligned passes, third-party passes and failures, and who said so', () => {
  const store = freshStore();
  for (const r of CRAFTED) store.dmarc.importReport(r, 1);
  const seen = store.dmarc.selectorsSeen('example.fr', DAY1);
  assert.deepEqual(
    seen.map(({ covered, ...rest }) => ({ ...rest, days: covered.days })),
    [
      {
        selector: 'sel1',
        signingDomain: 'example.fr',
        passed: 150,
        passedUnaligned: 0,
        failed: 5,
        confirmedBy: ['google.com'],
        failedAt: ['google.com'],
        days: 10,
      },
      {
        selector: 's1',
        signingDomain: 'sendgrid.net',
        passed: 0,
        passedUnaligned: 20,
        failed: 0,
        confirmedBy: [],
        failedAt: [],
        days: 1,
      },
      {
        selector: 'sel2',
        signingDomain: 'example.fr',
        passed: 0,
        passedUnaligned: 0,
        failed: 50,
        confirmedBy: [],
        failedAt: [HOSTILE_ORG],
        days: 1,
      },
      {
        selector: 'sel9',
        signingDomain: 'other.example',
        passed: 0,
        passedUnaligned: 1,
        failed: 0,
        confirmedBy: [],
        failedAt: [],
        days: 1,
      },
    ],
  );
  assert.deepEqual(
    store.dmarc.selectorsSeen('example.fr', DAY1 + 5 * DAY).map((s) => [s.selector, s.passed]),
    [['sel1', 30]],
  );
});

test('where the mail failing one selector came from, and who said so', () => {
  const store = freshStore();
  for (const r of CRAFTED) store.dmarc.importReport(r, 1);
  assert.deepEqual(store.dmarc.selectorFailures('example.fr', 'sel1', DAY1), [
    { sourceIp: '198.51.100.7', messages: 5, reporters: ['google.com'] },
  ]);
  assert.deepEqual(store.dmarc.selectorFailures('example.fr', 'sel2', DAY1), [
    { sourceIp: '192.0.2.1', messages: 50, reporters: [HOSTILE_ORG] },
  ]);
  assert.deepEqual(store.dmarc.selectorFailures('example.fr', 's1', DAY1), []);
  const plan = store.db
    .prepare(
      `EXPLAIN QUERY PLAN SELECT record_id FROM dmarc_dkim_results
       WHERE domain = ? AND selector = ? AND begin_at >= ? AND result <> 'pass'`,
    )
    .all('example.fr', 'sel1', 0) as { detail: string }[];
  assert.match(
    plan[0]!.detail,
    /USING COVERING INDEX dmarc_dkim_by_selector \(domain=\? AND selector=\? AND begin_at>\?\)/,
  );
});

test('prune deletes the records of reports ended before a moment, in batches, then the reports', () => {
  const store = freshStore();
  for (const r of CRAFTED) store.dmarc.importReport(r, 1);
  const calls: { records: number; reports: number }[] = [];
  for (;;) {
    const pruned = store.dmarc.prune(DAY1 + 3 * DAY, 2);
    if (pruned.records === 0 && pruned.reports === 0) break;
    assert.ok(pruned.records <= 2 && pruned.reports <= 2, 'never more than a batch');
    calls.push(pruned);
  }
  assert.equal(
    calls.reduce((n, c) => n + c.records, 0),
    7,
  );
  assert.equal(
    calls.reduce((n, c) => n + c.reports, 0),
    3,
  );
  assert.deepEqual(rows(store), { reports: 1, records: 1, dkim: 1, sums: 1 });
  assert.equal(store.dmarc.summary('example.fr', DAY1, DAY1 + 20 * DAY).messages, 30);
});

test('every query of the summary reads one index range, never a whole table', () => {
  const store = freshStore();
  const expected: Record<keyof typeof SUMMARY_QUERIES, RegExp> = {
    totals:
      /SEARCH dmarc_reports USING COVERING INDEX dmarc_reports_summary \(domain=\? AND begin_at>\? AND begin_at<\?\)/,
    selectors:
      /SEARCH dmarc_report_signatures USING COVERING INDEX dmarc_report_signatures_summary \(domain=\? AND begin_at>\?/,
    failingSources: /SEARCH dmarc_records USING COVERING INDEX dmarc_records_failing \(domain=\?\)/,
    sourceReporters: /SEARCH r USING COVERING INDEX dmarc_records_failing \(domain=\? AND source_ip=\? AND begin_at>\?/,
  };

  for (const [name, sql] of Object.entries(SUMMARY_QUERIES)) {
    const params = { failingSources: ['example.fr', 0, 1, 10], sourceReporters: ['example.fr', '192.0.2.1', 0, 1] }[
      name
    ] ?? ['example.fr', 0, 1];
    const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
      .map((row) => row.detail)
      .join('\n');
    assert.match(plan, expected[name as keyof typeof SUMMARY_QUERIES], name);
    assert.doesNotMatch(plan, /\bSCAN\b/, name);
  }
});
