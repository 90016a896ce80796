import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../src/clock.ts';
import { parseConfig } from '../src/config/index.ts';
import { buildCore } from '../src/core.ts';
import type { AggregateReport, ReportRecord } from '../src/domain/dmarc-report.ts';
import { parseDomain } from '../src/domain/names.ts';
import { silentLogger } from '../src/log.ts';
import { ReportOperations } from '../src/operations/report.ts';
import { SUMMARY_QUERIES } from '../src/store/dmarc.ts';
import { Store } from '../src/store/index.ts';
import { startDnsServer } from '../test/sim/dns.ts';

/**
 * `/dkim report` over a million stored records of one domain (DESIGN §7: p99 ≤ 300 ms), all of them in the period asked
 * (the worst case), beside a tenth as many of other domains; 2% of the records fail both DKIM and SPF. The bot's answer
 * is the real read (`ops.report.read`: the four queries, then the failing sources' reverse names from a DNS server on
 * loopback); its floor is the fewest reads the answer needs, the totals query alone. Also the query plans (an index
 * for each, no table scan). `node --import tsx bench/dmarc-summary.ts [records]` alone; a measurement, not a test.
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

async function fill(store: Store, records: number, failingPercent: number): Promise<number> {
  const reports = Math.ceil(records / RECORDS_PER_REPORT);
  const started = Date.now();
  for (let n = 0; n < reports; n++) store.dmarc.importReport(syntheticReport(n, 'example.fr', failingPercent), 0);
  for (let n = 0; n < reports / 10; n++)
    store.dmarc.importReport(syntheticReport(n, `other${n % 20}.fr`, failingPercent), 0);
  await store.checkpoint();
  return Date.now() - started;
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface DmarcReportFigures {
  records: number;
  fillMs: number;
  messages: number;
  plans: string[];
  floor: Percentiles;
  bot: Percentiles;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function timed(runs: number, work: () => unknown): Promise<Percentiles> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export async function benchDmarcReport(
  records = 1_000_000,
  failingPercent = 2,
  runs = 100,
): Promise<DmarcReportFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-dmarc-bench-'));
  const path = join(dir, 'bench.sqlite');
  const seeded = Store.open(path);
  const fillMs = await fill(seeded, records, failingPercent);
  seeded.close();
  // Half the failing sources have a reverse name; the others none (NXDOMAIN), as on the Internet.
  const dns = await startDnsServer((name) =>
    name.endsWith('.in-addr.arpa') && Number(name.split('.')[0]) % 2 === 0
      ? [{ type: 'PTR' as const, value: `host-${name.split('.')[0]}.relay.example.net` }]
      : null,
  );
  const clock = new FakeClock(START + DAYS * DAY);
  const core = buildCore(
    parseConfig({
      DATABASE_PATH: path,
      DNS_SERVERS: dns.address,
      OVH_APP_KEY: 'k',
      OVH_APP_SECRET: 's',
      OVH_CONSUMER_KEY: 'c',
    }),
    { log: silentLogger, clock },
  );
  try {
    const plans: string[] = [];
    for (const [name, sql] of Object.entries(SUMMARY_QUERIES)) {
      const params = { failingSources: ['example.fr', 0, 1, 10], sourceReporters: ['example.fr', '10.0.0.1', 0, 1] }[
        name
      ] ?? ['example.fr', 0, 1];
      const plan = core.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      plans.push(`${name}: ${plan.map((row) => row.detail).join(' · ')}`);
    }
    const domain = parseDomain('example.fr');
    if (!domain.ok) throw new Error(domain.error);
    const request = { domain: domain.domain, days: DAYS };
    const reports = new ReportOperations(core);
    const answer = await reports.read(request);
    const totals = core.store.db.prepare(SUMMARY_QUERIES.totals);
    const since = START;
    const until = START + (DAYS + 1) * DAY;
    // Alternating warm-up, then each measured in turn.
    await timed(5, () => totals.get('example.fr', since, until));
    await timed(5, () => reports.read(request));
    const floor = await timed(runs, () => totals.get('example.fr', since, until));
    const bot = await timed(runs, () => reports.read(request));
    return { records, fillMs, messages: answer.messages, plans, floor, bot };
  } finally {
    core.close();
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchDmarcReport(Number(process.argv[2] ?? 1_000_000));
  console.log(JSON.stringify(figures, null, 2));
}
