import type { MessageOutcome, ReportHandler, ReportMailbox } from '../../src/providers/imap.ts';
import { type RecordSpec, reportXml, zipAttachment } from './dmarc-reports.ts';

/**
 * A reports mailbox in memory, for the demo and the Slack flows: receivers' aggregate reports as Google and Outlook
 * send them (zipped XML), handed to the bot's real reader as the IMAP mailbox hands them (the IMAP side itself is
 * tested against a real Dovecot). In production it is DMARC_IMAP_URL.
 */
export class MemoryMailbox implements ReportMailbox {
  private readonly waiting: { uid: number; attachment: ReturnType<typeof zipAttachment> }[] = [];
  private uid = 0;
  readonly moved: MessageOutcome[] = [];

  /** The time the reports are dated by: the test's clock when it has one. */
  constructor(public now: () => number = Date.now) {}

  /** The mail from `domain` as `org` saw it over the last `seconds` (a day unless said), reported now. */
  deliver(org: string, domain: string, records: RecordSpec[], seconds = 86_399): void {
    const end = Math.floor(this.now() / 1000);
    const begin = end - seconds;
    const xml = reportXml({ orgName: org, reportId: `${org}-${++this.uid}`, domain, begin, end, records });
    this.waiting.push({ uid: this.uid, attachment: zipAttachment(xml, `${org}!${domain}!${begin}!${end}.zip`) });
  }

  async drain(handle: ReportHandler): Promise<MessageOutcome[]> {
    const outcomes: MessageOutcome[] = [];
    for (const { uid, attachment } of this.waiting.splice(0)) {
      const verdict = await handle({ uid, size: attachment.content.length, attachments: [attachment] });
      outcomes.push({ uid, ...verdict, movedTo: verdict.result === 'imported' ? 'dmarc-done' : 'dmarc-rejected' });
    }
    this.moved.push(...outcomes);
    return outcomes;
  }
}
