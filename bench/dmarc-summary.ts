import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AggregateReport, ReportRecord } from '../src/domain/dmarc-report.ts';
import { SUMMARY_QUERIES } from '../src/store/dmarc.ts';
import { Store } from '../src/store/index.ts';

/**
 * `node --import tsx bench/dmarc-summary.ts [records] [failing %]`: the DMARC summary of one domain over a million
 * stored records (DESIGN §7: p99 ≤ 300 ms), all of them in the period asked (the worst case), beside a tenth as many
 * of other domains; by default 2% of the records fail both DKIM and SPF. Prints the query plans and the timings.
 * A measurement, not a test: nothing here fails.
 */

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const DAYS = 14;
const RECORDS_PER_REPORT = 100;
const REPORTERS = ['google.com', 'Outlook.com', 'Yahoo', 'Mail.Ru', 'comcast.net'];

function syntheticReport(n: number, domain: string, failingPercent: number): AggregateReport {
  const begin = START + (n % DAYS) * DAY;
  const records: ReportRecord[] = [];
  for (let i = 0; i < RECORDS_PER_REPORT; i++)
    records.push(syntheticRecord(n * RECORDS_PER_REPORT + i, domain, failingPercent));
  return {
    orgName: REPORTERS[n % REPORTERS.length]!,
    reportId: `${domain}-${n}`,
    begin,
    end: begin + DAY - 1000,
    policyPublished: { domain, p: 'none' },
    records,
  };
}

/** Some records fail both, from up to 5,000 addresses; a tenth carry a third party's signature beside ours. */
function syntheticRecord(i: number, domain: string, failingPercent: number): ReportRecord {
  const failing = i % 100 < failingPercent;
  const dkim: ReportRecord['dkim'] = [
    { domain, selector: i % 2 ? 'ovhex123456-selector1' : 'ovhex123456-selector2', result: failing ? 'fail' : 'pass' },
  ];
  if (i % 10 === 0) dkim.push({ domain: 'sendgrid.net', selector: 's1', result: 'pass' });
  return {
    sourceIp: failing ? `10.0.${(i >> 8) % 20}.${i % 250}` : `192.0.2.${i % 200}`,
    count: 1 + (i % 7),
    disposition: 'none',
    dkimEvaluated: failing ? 'fail' : 'pass',
    spfEvaluated: failing || i % 3 === 0 ? 'fail' : 'pass',
    headerFrom: domain,
    dkim,
    spf: [{ domain, scope: 'mfrom', result: failing ? 'fail' : 'pass' }],
  };
}

function fill(store: Store, records: number, failingPercent: number): void {
  const reports = Math.ceil(records / RECORDS_PER_REPORT);
  const started = Date.now();
  for (let n = 0; n < reports; n++) store.dmarc.importReport(syntheticReport(n, 'example.fr', failingPercent), 0);
  for (let n = 0; n < reports / 10; n++)
    store.dmarc.importReport(syntheticReport(n, `other${n % 20}.fr`, failingPercent), 0);
  store.checkpoint();
  console.log(
    `filled ${reports * RECORDS_PER_REPORT} records of example.fr in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function main(): void {
  const records = Number(process.argv[2] ?? 1_000_000);
  const failingPercent = Number(process.argv[3] ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'dkim-dmarc-bench-'));
  const store = Store.open(join(dir, 'bench.sqlite'));
  try {
    fill(store, records, failingPercent);
    for (const [name, sql] of Object.entries(SUMMARY_QUERIES)) {
      const params = { failingSources: ['example.fr', 0, 1, 10], sourceReporters: ['example.fr', '10.0.0.1', 0, 1] }[
        name
      ] ?? ['example.fr', 0, 1];
      const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      console.log(`${name}:\n${plan.map((row) => `  ${row.detail}`).join('\n')}`);
    }
    const times: number[] = [];
    let summary = store.dmarc.summary('example.fr', START, START + DAYS * DAY);
    for (let run = 0; run < 100; run++) {
      const t0 = process.hrtime.bigint();
      summary = store.dmarc.summary('example.fr', START, START + DAYS * DAY);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(
      `summary of ${summary.messages} messages, ${summary.selectors.length} selectors, ${summary.reporters.length} reporters`,
    );
    console.log(
      `summary over ${records} records (${failingPercent}% failing), 100 runs: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (target p99 ≤ 300 ms)`,
    );
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
