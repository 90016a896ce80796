import type { Clock } from './clock.ts';
import { showRun } from './domain/names.ts';
import type { Journal } from './engine/journal.ts';
import type { Logger } from './log.ts';
import type { DnsChecker } from './providers/dns.ts';
import { errorMessage } from './providers/errors.ts';
import type { DmarcDomain } from './store/dmarc-domains.ts';
import type { Store } from './store/index.ts';
import { servedMismatches } from './workflows/common/dns-check.ts';

/**
 * The watch on the SPF and DMARC records the bot wrote (DESIGN §2.8), beside the DKIM watch and on its schedule: DNS
 * must serve them as written. A break is said once in the thread of the run that wrote them, mentioning its
 * requester, and a repair too; the status changes by compare-and-set, so two processes say it once.
 */

export interface RecordsWatchReport {
  checked: number;
  broken: number;
  repaired: number;
}

export class RecordsWatch {
  constructor(private readonly d: { store: Store; journal: Journal; dns: DnsChecker; clock: Clock; log: Logger }) {}

  async checkAll(): Promise<RecordsWatchReport> {
    const report: RecordsWatchReport = { checked: 0, broken: 0, repaired: 0 };
    for (const domain of this.d.store.dmarcDomains.all()) {
      // A dmarc run under way is changing the records: DNS may already serve what the row will say once it is done.
      if (this.d.store.runs.active('dmarc', domain.domain)) continue;
      try {
        const said = await this.check(domain);
        report.checked++;
        if (said === 'broken') report.broken++;
        if (said === 'repaired') report.repaired++;
      } catch (error) {
        this.d.log.warn('dmarc records check failed', { domain: domain.domain, error: errorMessage(error) });
      }
    }
    return report;
  }

  private async check(domain: DmarcDomain): Promise<'broken' | 'repaired' | undefined> {
    const { store, clock, journal } = this.d;
    const problems = await this.problems(domain);
    const status = problems.length === 0 ? 'ok' : 'broken';
    const observation = problems.join(' ') || 'SPF and DMARC are served as the bot wrote them.';
    const now = clock.now();
    return store.transaction(() => {
      const changed = store.dmarcDomains.recordsChecked(domain.domain, domain.recordsStatus, status, observation, now);
      if (!changed || status === domain.recordsStatus) return undefined;
      const run = store.runs.get(domain.runId);
      const text =
        status === 'broken'
          ? `SPF/DMARC check of ${showRun(domain)}: ${observation} Receivers may fail or ignore its mail's authentication until it is right again. The bot does not change it by itself: fix it, or \`/dkim dmarc ${domain.domain}\` again.`
          : `SPF/DMARC check of ${showRun(domain)}: repaired. ${observation}`;
      if (run) {
        store.events.add(run.id, 'bot', 'dmarc_watch', { status, observation }, now);
        journal.say(
          run,
          [{ type: 'reply', level: status === 'ok' ? 'success' : 'warning', mention: true, text }],
          `dmarc-watch-${status}-${now}`,
          now,
          'all',
        );
      }
      return status === 'broken' ? 'broken' : 'repaired';
    });
  }

  private async problems(domain: DmarcDomain): Promise<string[]> {
    const { spf, dmarc } = await servedMismatches(this.d.dns, domain.domain, domain);
    const problems: string[] = [];
    if (spf?.kind === 'none') problems.push(`${domain.domain} has no SPF record any more.`);
    else if (spf?.kind === 'permerror')
      problems.push(`${domain.domain} has ${spf.records.length} SPF records (a permerror).`);
    else if (spf?.kind === 'one')
      problems.push(`${domain.domain} serves \`${spf.record}\` as SPF, not \`${domain.spf}\`.`);
    if (dmarc?.kind === 'none') problems.push(`_dmarc.${domain.domain} has no DMARC record any more.`);
    else if (dmarc?.kind === 'invalid')
      problems.push(`_dmarc.${domain.domain} has ${dmarc.records.length} DMARC records, which receivers ignore.`);
    else if (dmarc?.kind === 'one')
      problems.push(`_dmarc.${domain.domain} serves \`${dmarc.record}\`, not \`${domain.dmarc}\`.`);
    return problems;
  }
}
