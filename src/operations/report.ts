import type { Core } from '../core.ts';
import {
  count,
  counted,
  days,
  lastDays,
  messages as messagesText,
  names,
  percent,
  plural,
  share,
} from '../domain/figures-text.ts';
import { type DomainName, parseDomain, printable, showDomain } from '../domain/names.ts';
import { joinText, type Text, when, words } from '../domain/text.ts';
import { DAY_MS, reportPeriod } from '../domain/time.ts';
import type { DmarcSummary, FailingSource, ReportedDomain } from '../store/dmarc.ts';
import { REPORT_USAGE } from './help.ts';
import type { Reply } from './reply.ts';

/**
 * `/dkim report x.fr [days]` and the CLI's `report` (DESIGN §2.8): what the receivers' aggregate reports say of a
 * domain's mail: messages, DMARC pass, aligned DKIM per selector, aligned SPF, the top failing sources with their
 * reverse names, the days covered; and App Home's line per reported domain. Reading only: nothing is written, and a
 * bad domain or number of days is answered before anything is read.
 */

export const DEFAULT_REPORT_DAYS = 7;
/** The failing sources shown, most messages first. */
const TOP_SOURCES = 10;
/** Selectors named in a report; the rest counted. */
const MAX_SELECTORS = 10;
/** App Home: the domains shown, most messages first; the rest counted. */
export const HOME_DOMAINS = 10;
/** The longest a reverse look-up may take: the answer waits for the slowest of them. */
const REVERSE_TIMEOUT_MS = 2_000;

export interface ReportRequest {
  domain: DomainName;
  days: number;
}

export interface SourceSeen extends FailingSource {
  /** The source's reverse name (PTR) when DNS has one, as DNS gave it. */
  reverse: string | null;
}

/** The figures of a report, as the CLI prints them with --json. Times are epoch ms. */
export interface DomainReport extends Omit<DmarcSummary, 'failingSources'> {
  domain: string;
  days: number;
  /** The reports that began in [since, until). */
  since: number;
  until: number;
  failingSources: SourceSeen[];
  /** When no report falls in the period: the latest stored one, if any. */
  latest: { begin: number; end: number } | null;
}

/** A report's words, in the order a face shows them: the title, the figures, the failing sources, the small print. */
export interface ReportSections {
  title: Text;
  figures: Text[];
  sources: Text[];
  notes: Text[];
}

export type ReportReply = Reply & { report?: DomainReport; sections?: ReportSections };

/** App Home's lines: one per domain reported on over the last `days`, and how many more there are. */
export interface RecentReports {
  days: number;
  lines: Text[];
  more: number;
}

export class ReportOperations {
  constructor(private readonly core: Core) {}

  /** `domain [days]` checked: a clear answer for bad input, and nothing read or called. */
  parse(domainText: unknown, daysText?: string): { ok: true; request: ReportRequest } | { ok: false; text: string } {
    const parsed = parseDomain(domainText);
    if (!parsed.ok) return { ok: false, text: `No report: ${parsed.error}. ${this.usage()}` };
    if (daysText === undefined) return { ok: true, request: { domain: parsed.domain, days: DEFAULT_REPORT_DAYS } };
    const max = this.maxDays();
    const given = daysText.trim();
    const days = /^\d+$/.test(given) ? Number(given) : Number.NaN;
    if (days > max) {
      return {
        ok: false,
        text: `No report: reports are kept ${count(max)} days (DMARC_RETENTION_DAYS); ask for ${count(max)} at most.`,
      };
    }
    if (!Number.isInteger(days) || days < 1) {
      return {
        ok: false,
        text: `No report: "${printable(daysText)}" is not a number of days: give a whole number from 1 to ${count(max)}.`,
      };
    }
    return { ok: true, request: { domain: parsed.domain, days } };
  }

  usage(): string {
    return `${REPORT_USAGE}, at most ${count(this.maxDays())}.`;
  }

  /** The report of a checked request: the store's figures, then the failing sources' reverse names (bounded). */
  async read(request: ReportRequest): Promise<DomainReport> {
    const { domain, days } = request;
    const { since, until } = reportPeriod(this.core.clock.now(), days);
    const dmarc = this.core.store.dmarc;
    const summary = dmarc.summary(domain.ascii, since, until, TOP_SOURCES);
    const failingSources = await Promise.all(
      summary.failingSources.map(async (source) => ({
        ...source,
        reverse: (await this.core.dns.reverse(source.sourceIp, REVERSE_TIMEOUT_MS)) ?? null,
      })),
    );
    const latest = summary.messages > 0 ? null : (dmarc.latestReport(domain.ascii) ?? null);
    return { domain: domain.ascii, days, since, until, ...summary, failingSources, latest };
  }

  /** Checked, read and said: what the CLI and the tests call. */
  async report(input: { domain: string; days?: string }): Promise<ReportReply> {
    const checked = this.parse(input.domain, input.days);
    if (!checked.ok) return checked;
    const report = await this.read(checked.request);
    const sections = this.sections(report, checked.request.domain);
    return { ok: true, text: sectionsText(sections), report, sections };
  }

  /** The words of a report. */
  sections(report: DomainReport, domain: DomainName): ReportSections {
    const shown = showDomain(domain);
    const title = words`*DMARC reports for ${shown}* · the last ${lastDays(report.days)}`;
    if (report.messages === 0) {
      const none = report.latest
        ? words`No DMARC report for ${shown} began in the last ${days(report.days)}.`
        : words`No DMARC report for ${shown} yet.`;
      return { title, figures: [none], sources: [], notes: this.none(report) };
    }
    const { messages } = report;
    const figures: Text[] = [
      words`*${count(messages)}* ${plural(messages, 'message')} reported by ${counted(report.reporters.length, 'organisation')}`,
      words`DMARC pass: *${share(report.dmarcPass, messages)}*`,
      words`Aligned DKIM pass: ${share(report.alignedDkimPass, messages)}`,
      ...report.selectors.slice(0, MAX_SELECTORS).map((s) => {
        const name = s.selector === '' ? 'no selector named' : `\`${printable(s.selector)}\``;
        return words`    · ${name} of ${printable(s.signingDomain)}: ${share(s.alignedPass, s.messages)}`;
      }),
      ...(report.selectors.length > MAX_SELECTORS
        ? [words`    · and ${report.selectors.length - MAX_SELECTORS} more selectors`]
        : []),
      words`Aligned SPF pass: ${share(report.alignedSpfPass, messages)}`,
    ];
    const failing = messages - report.dmarcPass;
    const sources: Text[] =
      failing <= 0
        ? ['No message failed DMARC.']
        : [
            words`*Failing DMARC*: ${messagesText(failing)}, aligned neither by DKIM nor by SPF; the top sources:`,
            ...report.failingSources.map(
              (s, i) =>
                words`${i + 1}. \`${s.sourceIp}\` ${s.reverse === null ? '(no reverse name)' : `(${printable(s.reverse)})`} · ${messagesText(s.messages)} · reported by ${names(s.reporters)}`,
            ),
          ];
    const covered = report.covered;
    const notes: Text[] = [
      ...(covered ? [words`Covered: ${days(covered.days)}, from ${when(covered.from)} to ${when(covered.to)}.`] : []),
      words`Reported by ${names(report.reporters)}.`,
    ];
    return { title, figures, sources, notes };
  }

  /** No report in the period: when the last one was, or when the first ones come. */
  private none(report: DomainReport): Text[] {
    const { imapUrl, cron } = this.core.config.dmarc;
    const reading = imapUrl
      ? `The bot reads its reports mailbox on DMARC_CRON (\`${cron}\`).`
      : 'DMARC_IMAP_URL is not set: the bot reads no reports mailbox, so none can arrive.';
    if (report.latest) {
      const today = reportPeriod(this.core.clock.now(), 0).since;
      const needed = Math.max(1, Math.ceil((today - report.latest.begin) / DAY_MS));
      const hint = needed <= this.maxDays() ? ` \`/dkim report ${report.domain} ${needed}\` shows it.` : '';
      return [words`The latest report stored covers up to ${when(report.latest.end)}.${hint}`, reading];
    }
    return [
      'Receivers send aggregate reports once a day, for the day before, to the address in the `rua=` tag of the ' +
        "domain's DMARC record: the first ones come a day or two after mail is sent with that record in place.",
      reading,
    ];
  }

  /** App Home: the domains reported on over the last week, most messages first. */
  recent(days = DEFAULT_REPORT_DAYS): RecentReports {
    const { since, until } = reportPeriod(this.core.clock.now(), days);
    const { domains, total } = this.core.store.dmarc.reportedDomains(since, until, HOME_DOMAINS);
    return { days, lines: domains.map(domainLine), more: Math.max(0, total - domains.length) };
  }

  /** As many days as reports are kept (DMARC_RETENTION_DAYS), whole. */
  private maxDays(): number {
    return Math.max(1, Math.floor(this.core.config.dmarc.retentionDays));
  }
}

/** The sections one after the other, as plain lines (the CLI, a notification's fallback). */
export function sectionsText(sections: ReportSections): Text {
  return joinText([sections.title, ...sections.figures, ...sections.sources, ...sections.notes]);
}

/** One line of App Home: the domain, DMARC pass with its counts, aligned DKIM and SPF, the reporters. */
function domainLine(d: ReportedDomain): Text {
  const parsed = parseDomain(d.domain);
  const shown = parsed.ok ? showDomain(parsed.domain) : printable(d.domain);
  return words`*${shown}* · DMARC pass ${share(d.dmarcPass, d.messages)} · aligned DKIM ${percent(d.alignedDkimPass, d.messages)} (${count(d.alignedDkimPass)}) · aligned SPF ${percent(d.alignedSpfPass, d.messages)} (${count(d.alignedSpfPass)}) · ${count(d.reporters)} ${plural(d.reporters, 'reporter')}`;
}
