import type { Clock } from '../clock.ts';
import type { DmarcConfig } from '../config/index.ts';
import type { Engine } from '../engine/engine.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { errorMessage } from '../providers/errors.ts';
import { createImapMailbox, type ReportMailbox } from '../providers/imap.ts';
import { singleFlight } from '../single-flight.ts';
import type { Store } from '../store/index.ts';
import { Journey, type JourneyReport } from './journey.ts';
import { type ReadResult, ReportReader } from './reader.ts';
import { Verdicts } from './verdicts.ts';

/**
 * Every DMARC_CRON (DESIGN §2.8): the reports mailbox read, the receivers' verdict on each reported domain's signing
 * selector said once, then the journey's proposals. A mailbox that refuses the login or drops the link is logged once
 * (and once more when it answers again), and read again at the next round; the journey goes on without it.
 */

export interface ReportsRound {
  read?: ReadResult;
  /** Why the mailbox could not be read this round. */
  mailboxError?: string;
  said: { proofs: number; failures: number };
  journey: JourneyReport;
}

export interface ReportsDeps {
  store: Store;
  engine: Engine;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  config: DmarcConfig;
  /** The mailbox; made from DMARC_IMAP_URL when not given. */
  mailbox?: ReportMailbox;
}

export class DmarcReports {
  private readonly reader?: ReportReader;
  private readonly verdicts: Verdicts;
  private readonly journey: Journey;
  /** The mailbox's last trouble, said once. */
  private trouble?: string;

  constructor(private readonly d: ReportsDeps) {
    const mailbox =
      d.mailbox ??
      (d.config.imapUrl ? createImapMailbox(d.config.imapUrl, { doneFolder: d.config.doneFolder }) : undefined);
    if (mailbox) this.reader = new ReportReader({ ...d, mailbox });
    this.verdicts = new Verdicts({ store: d.store, journal: d.engine.journal, clock: d.clock });
    this.journey = new Journey(d);
  }

  /** One round; a call during a round waits for it. */
  readonly round = singleFlight(() => this.once());

  private async once(): Promise<ReportsRound> {
    const round: ReportsRound = { said: { proofs: 0, failures: 0 }, journey: { proposed: [], rollbacks: [] } };
    if (this.reader) {
      try {
        round.read = await this.reader.read();
        this.d.metrics.dmarcMailboxRead(true);
        if (this.trouble) this.d.log.info('dmarc mailbox read again', { after: this.trouble });
        this.trouble = undefined;
        if (round.read.imported + round.read.duplicates + round.read.rejected > 0) {
          this.d.log.info('dmarc reports read', { ...round.read, domains: round.read.domains.length });
        }
      } catch (error) {
        round.mailboxError = errorMessage(error);
        this.d.metrics.dmarcMailboxRead(false);
        if (round.mailboxError !== this.trouble) {
          this.d.log.warn('dmarc mailbox unreadable; read again next round', { error: round.mailboxError });
        }
        this.trouble = round.mailboxError;
      }
    }
    round.said = this.verdicts.sayFor(round.read?.domains ?? []);
    round.journey = this.journey.look();
    return round;
  }
}
