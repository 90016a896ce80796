import { parseReportXml } from '../src/domain/dmarc-report.ts';
import type { Store } from '../src/store/index.ts';
import { DAY_S, HOSTILE_ORG, type ReportSpec, reportXml } from './sim/dmarc-reports.ts';
import { reverseName } from './sim/dns.ts';

/**
 * The reports `/dkim report` is tested on, shared by the operation's tests and the Slack flows: example.fr over the
 * last two days (1,260 messages, 1,234 passing DMARC), a reporter named to do harm, a report three weeks old, and
 * other.fr.
 */

/** A reporter's name and a reverse name that try every kind of Slack markup. */
export const HOSTILE_REPORTER = `${HOSTILE_ORG} @here`;
export const HOSTILE_PTR = '<!channel>.<https://evil.example|x>.@here.&amp.example';
export const RELAY_PTR = 'mail.relay.example.net';
/** Markup that must never reach Slack as markup. */
export const FORBIDDEN = ['<!channel>', '<!here>', '<https://evil', '|x>'];

const DAY_MS = DAY_S * 1000;

/** Epoch seconds of the UTC day `daysAgo` days before `now`'s. */
export function dayStart(now: number, daysAgo: number): number {
  return (Math.floor(now / DAY_MS) - daysAgo) * DAY_S;
}

export function importSpec(store: Store, spec: ReportSpec, now: number): void {
  store.dmarc.importReport(parseReportXml(reportXml(spec)), now);
}

const sig = (selector: string, result: string, domain = 'example.fr') => ({ domain, selector, result });

export function reportsFor(now: number): ReportSpec[] {
  return [
    {
      orgName: 'google.com',
      reportId: 'g-1',
      begin: dayStart(now, 1),
      records: [
        { sourceIp: '192.0.2.1', count: 1200, dkim: 'pass', spf: 'pass', dkimResults: [sig('selector1', 'pass')] },
        { sourceIp: '192.0.2.2', count: 34, dkim: 'pass', spf: 'fail', dkimResults: [sig('selector1', 'pass')] },
        { sourceIp: '198.51.100.7', count: 20, dkim: 'fail', spf: 'fail', dkimResults: [sig('selector1', 'fail')] },
      ],
    },
    {
      orgName: HOSTILE_REPORTER,
      reportId: 'h-1',
      begin: dayStart(now, 2),
      records: [
        { sourceIp: '198.51.100.7', count: 4, dkim: 'fail', spf: 'fail', dkimResults: [sig('selector1', 'fail')] },
        {
          sourceIp: '203.0.113.9',
          count: 2,
          dkim: 'fail',
          spf: 'fail',
          dkimResults: [sig('s1', 'pass', 'sendgrid.net')],
        },
      ],
    },
    {
      orgName: 'google.com',
      reportId: 'g-old',
      begin: dayStart(now, 20),
      records: [{ sourceIp: '192.0.2.1', count: 500, dkim: 'pass', spf: 'pass' }],
    },
    {
      orgName: 'Yahoo',
      reportId: 'y-1',
      domain: 'other.fr',
      begin: dayStart(now, 1),
      records: [{ sourceIp: '192.0.2.9', count: 100, dkim: 'pass', spf: 'pass' }],
    },
  ];
}

/** The reports stored, and the reverse names set in the simulator's DNS (198.51.100.7 has a plain one). */
export function seedReports(
  store: Store,
  sim: { setExternalRecord(name: string, type: 'PTR', value: string): void },
  now: number,
): void {
  for (const spec of reportsFor(now)) importSpec(store, spec, now);
  sim.setExternalRecord(reverseName('198.51.100.7'), 'PTR', `${RELAY_PTR}.`);
  sim.setExternalRecord(reverseName('203.0.113.9'), 'PTR', HOSTILE_PTR);
}
