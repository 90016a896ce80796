import type { Clock } from '../clock.ts';
import { parseAggregateReport, ReportRejected } from '../domain/dmarc-report.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { errorMessage } from '../providers/errors.ts';
import type { ReportMailbox, ReportMessage, ReportVerdict } from '../providers/imap.ts';
import type { Store } from '../store/index.ts';

/**
 * The reports mailbox read once (DESIGN §2.8): each attachment parsed (no DTD, size and decompression bounded) and
 * stored; a report counts once however often it is read. A message none of whose attachments is a report goes to the
 * rejected folder, named once in the log and counted in /metrics; it never stops the others.
 */

export interface ReadResult {
  imported: number;
  duplicates: number;
  rejected: number;
  /** The domains of the reports read, imported or already counted (policy_published.domain). */
  domains: string[];
}

export class ReportReader {
  constructor(
    private readonly d: { store: Store; mailbox: ReportMailbox; clock: Clock; log: Logger; metrics: Metrics },
  ) {}

  async read(limit?: number): Promise<ReadResult> {
    const result: ReadResult = { imported: 0, duplicates: 0, rejected: 0, domains: [] };
    const domains = new Set<string>();
    const outcomes = await this.d.mailbox.drain((message) => this.handle(message, result, domains), { limit });
    for (const outcome of outcomes) {
      if (outcome.result !== 'rejected') continue;
      result.rejected++;
      this.d.metrics.dmarcReport('rejected');
      this.d.log.warn('dmarc report rejected', { uid: outcome.uid, reason: outcome.reason, movedTo: outcome.movedTo });
    }
    result.domains = [...domains];
    return result;
  }

  private async handle(message: ReportMessage, result: ReadResult, domains: Set<string>): Promise<ReportVerdict> {
    const refused: string[] = [];
    let read = 0;
    for (const attachment of message.attachments) {
      let report: ReturnType<typeof parseAggregateReport>;
      try {
        report = parseAggregateReport(attachment.content);
      } catch (error) {
        if (!(error instanceof ReportRejected)) throw error;
        refused.push(`${attachment.filename}: ${errorMessage(error)}`);
        continue;
      }
      read++;
      const stored = this.d.store.dmarc.importReport(report, this.d.clock.now());
      if (stored === 'imported') result.imported++;
      else result.duplicates++;
      // A duplicate too: its verdict may not have been said (a round that stopped after storing it).
      domains.add(report.policyPublished.domain);
      this.d.metrics.dmarcReport(stored);
    }
    if (read > 0) {
      if (refused.length > 0) this.d.log.warn('dmarc report attachments refused', { uid: message.uid, refused });
      return { result: 'imported' };
    }
    return { result: 'rejected', reason: refused.join('; ') || 'no report in the message' };
  }
}
