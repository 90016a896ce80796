import type { Clock } from '../clock.ts';
import { DAY_MS } from '../domain/time.ts';
import type { Logger } from '../log.ts';
import { singleFlight } from '../single-flight.ts';
import type { Store } from '../store/index.ts';

/** Rows deleted at once: a few milliseconds of work, then the event loop (Slack's acks) gets its turn. */
const BATCH = 500;

export interface RetentionReport {
  deliveredMessages: number;
  events: number;
  scanResults: number;
  runs: number;
  /** DMARC report records and reports, past DMARC_RETENTION_DAYS. */
  dmarcRecords: number;
  dmarcReports: number;
}

/**
 * RETENTION_DAYS (DESIGN §5.1): delivered messages, and runs finished longer ago than that with their audit trail, scan
 * results, approvals and messages, are deleted in small batches, each its own transaction, with a turn of the event
 * loop between them. A pass goes on until nothing is left to prune.
 */
export class Retention {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly keep: { keepMs: number; dmarcKeepMs: number },
  ) {}

  /** One pass; a call during a pass waits for it. */
  readonly pass = singleFlight(() => this.prune());

  private async prune(): Promise<RetentionReport> {
    const { store } = this;
    const before = this.clock.now() - this.keep.keepMs;
    const report: RetentionReport = {
      deliveredMessages: 0,
      events: 0,
      scanResults: 0,
      runs: 0,
      dmarcRecords: 0,
      dmarcReports: 0,
    };
    const steps: [keyof RetentionReport, () => number][] = [
      ['deliveredMessages', () => store.pruning.deliveredMessages(before, BATCH)],
      ['events', () => store.pruning.events(before, BATCH)],
      ['scanResults', () => store.pruning.scanResults(before, BATCH)],
      ['runs', () => store.pruning.runs(before, BATCH)],
    ];
    for (const [what, batch] of steps) {
      // A batch short of BATCH left nothing behind it.
      for (let deleted = BATCH; deleted === BATCH; ) {
        deleted = store.transaction(batch);
        report[what] += deleted;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const dmarcBefore = this.clock.now() - this.keep.dmarcKeepMs;
    for (let deleted = BATCH; deleted === BATCH; ) {
      const pruned = store.dmarc.prune(dmarcBefore, BATCH);
      report.dmarcRecords += pruned.records;
      report.dmarcReports += pruned.reports;
      deleted = pruned.records === BATCH || pruned.reports === BATCH ? BATCH : 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    store.transaction(() => store.processes.forgetSilentSince(this.clock.now() - DAY_MS));
    if (Object.values(report).some((n) => n > 0)) this.log.info('retention pass', { ...report });
    return report;
  }
}
