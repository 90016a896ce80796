import type { Clock } from './clock.ts';
import { showRun } from './domain/names.ts';
import type { Notice } from './domain/notices.ts';
import { DAY_MS } from './domain/time.ts';
import type { Journal } from './engine/journal.ts';
import type { Logger } from './log.ts';
import type { DnsChecker } from './providers/dns.ts';
import { errorMessage } from './providers/errors.ts';
import type { OvhApi } from './providers/ovh.ts';
import { KeyedDkimApi, MxPlanApi } from './providers/ovh-mail.ts';
import { singleFlight } from './single-flight.ts';
import type { Store } from './store/index.ts';
import type { Watch } from './store/watches.ts';
import { RecordsWatch, type RecordsWatchReport } from './watch-dmarc.ts';
import { checkCname } from './workflows/common/dns-check.ts';

/**
 * The watch on every finished domain (DESIGN §2.7), on WATCH_CRON: the signing selector's CNAME must still resolve to
 * its target, which must serve a key. DNS costs nothing; OVH is asked only when DNS looks wrong, to say what it shows.
 * A break is said once in the domain's thread, mentioning the requester, and a repair too; a key older than
 * ROTATION_REMINDER_DAYS gets one reminder.
 */

export interface WatcherDeps {
  store: Store;
  journal: Journal;
  dns: DnsChecker;
  ovh?: OvhApi;
  clock: Clock;
  log: Logger;
  /** 0: no reminder. */
  reminderDays: number;
}

export interface WatchReport {
  checked: number;
  broken: number;
  repaired: number;
  reminded: number;
  /** The SPF and DMARC records the bot wrote (watch-dmarc.ts). */
  records: RecordsWatchReport;
}

export class Watcher {
  private readonly records: RecordsWatch;

  constructor(private readonly d: WatcherDeps) {
    this.records = new RecordsWatch(d);
  }

  /** Checks every watched domain; a call during a check waits for it. */
  readonly checkAll = singleFlight(() => this.checkEach());

  private async checkEach(): Promise<WatchReport> {
    const report: WatchReport = {
      checked: 0,
      broken: 0,
      repaired: 0,
      reminded: 0,
      records: { checked: 0, broken: 0, repaired: 0 },
    };
    for (const watch of this.d.store.watches.all()) {
      try {
        const outcome = await this.check(watch);
        report.checked++;
        if (outcome.said === 'broken') report.broken++;
        if (outcome.said === 'repaired') report.repaired++;
        if (outcome.reminded) report.reminded++;
      } catch (error) {
        // A resolver in trouble says nothing about the domain: the next round looks again.
        this.d.log.warn('watch check failed', { domain: watch.domain, error: errorMessage(error) });
      }
    }
    report.records = await this.records.checkAll();
    return report;
  }

  private async check(watch: Watch): Promise<{ said?: 'broken' | 'repaired'; reminded: boolean }> {
    const { store, clock } = this.d;
    const now = clock.now();
    const dns = await checkCname(this.d.dns, watch.recordName, watch.target, { expectDkimKey: true });
    const status: Watch['status'] = dns.ok ? 'ok' : 'broken';
    const observation = dns.ok ? dns.observation : `${dns.observation}${await this.atOvh(watch)}`;
    const change: 'broken' | 'repaired' | undefined =
      status === watch.status ? undefined : status === 'broken' ? 'broken' : 'repaired';
    const reminderDue = dns.ok && this.reminderDue(watch, now);
    // Two processes may check one domain at once: each writes by compare-and-set, and only the one whose write took
    // the change (or the reminder) says it.
    const said = store.transaction(() => {
      const changed = store.watches.record(watch.domain, watch.status, status, observation, now);
      const reminded = reminderDue && store.watches.reminded(watch.domain, now);
      const notices = [
        ...(change && changed ? [this.changeNotice(watch, change, observation)] : []),
        ...(reminded ? [this.reminder(watch, now)] : []),
      ];
      const run = store.runs.get(watch.runId);
      if (run && notices.length > 0) {
        store.events.add(run.id, 'bot', 'watch', { status, observation, reminded }, now);
        this.d.journal.say(run, notices, `watch-${change ?? ''}-${reminded ? 'reminder' : ''}-${now}`, now, 'all');
      }
      return { said: changed ? change : undefined, reminded };
    });
    return said;
  }

  private changeNotice(watch: Watch, change: 'broken' | 'repaired', observation: string): Notice {
    if (change === 'repaired') {
      return {
        type: 'reply',
        level: 'success',
        mention: true,
        text: `DKIM check of ${showRun(watch)}: repaired. ${observation}`,
      };
    }
    return {
      type: 'reply',
      level: 'warning',
      mention: true,
      text: `DKIM check of ${showRun(watch)}: ${observation} Mail signed with \`${watch.selector}\` may fail DKIM until the record is right again. The bot does not change it by itself: fix it, or \`/dkim setup\` ${watch.domain} again.`,
    };
  }

  private reminder(watch: Watch, now: number): Notice {
    const days = Math.floor((now - watch.signingSince) / DAY_MS);
    return {
      type: 'reply',
      mention: true,
      text: `The DKIM key of ${showRun(watch)} (\`${watch.selector}\`) is ${days} days old: \`/dkim rotate ${watch.domain}\` switches to the spare and gives the old selector a fresh key.`,
    };
  }

  private reminderDue(watch: Watch, now: number): boolean {
    if (this.d.reminderDays <= 0 || watch.remindedAt !== null || watch.offer === 'mxplan') return false;
    return now - watch.signingSince >= this.d.reminderDays * DAY_MS;
  }

  /** What OVH shows of the key, when DNS looks wrong (one read). */
  private async atOvh(watch: Watch): Promise<string> {
    if (!this.d.ovh) return '';
    try {
      if (watch.offer === 'mxplan') {
        const dkim = await new MxPlanApi(this.d.ovh, watch.domain).dkim();
        return ` OVH shows the DKIM switch ${dkim.status}.`;
      }
      const at = { offer: watch.offer, org: watch.org ?? undefined, service: watch.service ?? undefined };
      const key = await new KeyedDkimApi(this.d.ovh, at, watch.domain).dkimOrNone(watch.selector);
      return key
        ? ` OVH shows \`${watch.selector}\` ${key.status}.`
        : ` OVH has no key for \`${watch.selector}\` any more.`;
    } catch (error) {
      return ` (OVH could not be asked: ${errorMessage(error)})`;
    }
  }
}
