import type { Clock } from '../clock.ts';
import type { DmarcConfig } from '../config/index.ts';
import type { DmarcPolicy } from '../domain/dmarc-record.ts';
import { DAY_MS, reportPeriod } from '../domain/time.ts';
import type { Engine } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import type { DmarcDomain } from '../store/dmarc-domains.ts';
import type { Store } from '../store/index.ts';
import type { DmarcParams, Evidence } from '../workflows/dmarc/facts.ts';

/**
 * The journey to an enforced policy (DESIGN §2.8). A domain at p=none (then p=quarantine) whose reports over the last
 * DMARC_STEP_UP_DAYS hold at least DMARC_MIN_MESSAGES with DMARC passing at DMARC_STEP_UP_PASS % gets one proposal:
 * a dmarc run whose card asks for the stricter policy, showing what it would have quarantined. After a step-up, a day
 * whose passes fall below the threshold (with at least DMARC_MIN_MESSAGES / DMARC_STEP_UP_DAYS messages) is said once,
 * with a rollback card. Each is a run like any other: one approval, the same primitive; never two open for a domain
 * (one active dmarc run per domain), and no second proposal before another evidence period.
 */

const STRICTER: Partial<Record<DmarcPolicy, DmarcPolicy>> = { none: 'quarantine', quarantine: 'reject' };

export interface JourneyReport {
  proposed: string[];
  rollbacks: string[];
}

export class Journey {
  constructor(private readonly d: { store: Store; engine: Engine; clock: Clock; log: Logger; config: DmarcConfig }) {}

  look(): JourneyReport {
    const report: JourneyReport = { proposed: [], rollbacks: [] };
    for (const domain of this.d.store.dmarcDomains.all()) {
      if (this.d.store.runs.active('dmarc', domain.domain)) continue;
      if (this.fell(domain)) report.rollbacks.push(domain.domain);
      else if (this.readyForMore(domain)) report.proposed.push(domain.domain);
    }
    return report;
  }

  /** After a step-up: the last day's passes below the threshold starts a rollback run (its card), once. */
  private fell(domain: DmarcDomain): boolean {
    const { store, clock, config } = this.d;
    if (!domain.previousPolicy || domain.policy === 'none') return false;
    const now = clock.now();
    // Daily reports begin at midnight and arrive after they end: yesterday's and today's.
    const { since, until } = reportPeriod(now, 1);
    const day = store.dmarc.summary(domain.domain, since, until);
    if (day.messages < Math.ceil(config.minMessages / config.stepUpDays)) return false;
    if (rate(day.dmarcPass, day.messages) >= config.stepUpPass) {
      store.dmarcDomains.fallOver(domain.domain, now);
      return false;
    }
    if (domain.fallSaidAt !== null) return false;
    const evidence = { days: 1, messages: day.messages, dmarcPass: day.dmarcPass, failing: day.failingSources };
    const params: DmarcParams = { action: 'rollback', policy: domain.previousPolicy, evidence };
    return this.start(domain, params, () => store.dmarcDomains.fallSaid(domain.domain, now));
  }

  /** Enough evidence, long enough after the last change and the last proposal: a proposal of the stricter policy. */
  private readyForMore(domain: DmarcDomain): boolean {
    const { store, clock, config } = this.d;
    const stricter = STRICTER[domain.policy];
    if (!stricter) return false;
    const now = clock.now();
    const period = config.stepUpDays * DAY_MS;
    if (now - domain.policySince < period) return false;
    if (domain.proposedAt !== null && now - domain.proposedAt < period) return false;
    const { since, until } = reportPeriod(now, config.stepUpDays);
    const summary = store.dmarc.summary(domain.domain, since, until);
    if (summary.messages < config.minMessages || rate(summary.dmarcPass, summary.messages) < config.stepUpPass) {
      return false;
    }
    const evidence: Evidence = {
      days: config.stepUpDays,
      messages: summary.messages,
      dmarcPass: summary.dmarcPass,
      failing: summary.failingSources,
    };
    const params: DmarcParams = { action: 'step-up', policy: stricter, evidence };
    return this.start(domain, params, () => {
      store.dmarcDomains.proposed(domain.domain, now);
      return true;
    });
  }

  /**
   * The run, started on behalf of the person who asked for the domain's DMARC, with `taken` in the same transaction
   * (the note that it was proposed): a second process finds the run active, or the note taken, and starts nothing.
   */
  private start(domain: DmarcDomain, params: DmarcParams, taken: () => boolean): boolean {
    const { store, engine, log } = this.d;
    try {
      return store.transaction(() => {
        if (!taken()) return false;
        const started = engine.startWithin({
          kind: 'dmarc',
          domain: domain.domain,
          params: { ...params },
          requestedBy: domain.requestedBy,
          channelId: domain.channelId,
        });
        // Not started (the requester's cap of active runs, a run of the domain active): the note goes back too.
        if (!started.ok) throw new NotStarted();
        return true;
      });
    } catch (error) {
      if (!(error instanceof NotStarted)) throw error;
      log.info('dmarc proposal not started', { domain: domain.domain, action: params.action });
      return false;
    }
  }
}

class NotStarted extends Error {}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : (100 * part) / whole;
}
