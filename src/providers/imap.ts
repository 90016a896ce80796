import type { ImapFlow, MessageStructureObject } from 'imapflow';
import { DEFAULT_DONE_FOLDER, type ImapTarget, parseImapUrl } from '../config/imap-url.ts';
import { MAX_MESSAGE_BYTES } from '../domain/report-archive.ts';
import { ProviderError } from './errors.ts';

/**
 * The mailbox of DMARC aggregate reports (DESIGN §2.8), over IMAP with imapflow. Each message is read once: its report
 * attachments go to a handler, and the message moves to the done folder or the rejected one by the handler's answer.
 * A message that cannot be read never stops the others. The password never appears in an error or a log.
 */

export interface ReportAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface ReportMessage {
  uid: number;
  size: number;
  attachments: ReportAttachment[];
}

export type ReportVerdict = { result: 'imported' } | { result: 'rejected'; reason: string };

export interface MessageOutcome {
  uid: number;
  result: 'imported' | 'rejected';
  reason?: string;
  /** The folder the message went to. */
  movedTo: string;
}

export type ReportHandler = (message: ReportMessage) => Promise<ReportVerdict>;

export interface ReportMailbox {
  /**
   * Reads the messages in the folder (at most `limit`, oldest first). An error of the handler stops the reading and is
   * thrown as it is, the message left in place for the next time; IMAP trouble is a ProviderError.
   */
  drain(handle: ReportHandler, options?: { limit?: number }): Promise<MessageOutcome[]>;
}

export interface ImapMailboxOptions {
  doneFolder?: string;
  rejectedFolder?: string;
  maxMessageBytes?: number;
  /** Connection, greeting and socket inactivity timeouts. */
  timeoutMs?: number;
}

/** Messages moved in one MOVE: a crash before it means at most this many read again (and counted once). */
const MOVE_BATCH = 100;
export const REJECTED_FOLDER = 'dmarc-rejected';
/** errors.ts lists the providers it knew before this one. */
const PROVIDER = 'imap' as ProviderError['provider'];

export function createImapMailbox(url: string, options: ImapMailboxOptions = {}): ReportMailbox {
  const target = parseImapUrl(url);
  return {
    async drain(handle, drainOptions) {
      // imapflow and its dependencies (about 5 MiB of heap) are loaded at the first read, not when the bot starts.
      const { ImapFlow } = await import('imapflow');
      return new Session(target, options, ImapFlow).drain(handle, drainOptions?.limit);
    },
  };
}

class Session {
  private readonly client: ImapFlow;
  private readonly done: string;
  private readonly rejected: string;
  private readonly maxBytes: number;

  constructor(
    private readonly target: ImapTarget,
    options: ImapMailboxOptions,
    Client: typeof ImapFlow,
  ) {
    const timeout = options.timeoutMs ?? 30_000;
    this.done = options.doneFolder ?? DEFAULT_DONE_FOLDER;
    this.rejected = options.rejectedFolder ?? REJECTED_FOLDER;
    this.maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.client = new Client({
      host: target.host,
      port: target.port,
      secure: target.secure,
      auth: { user: target.user, pass: target.password },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    // Errors reach us through the command that fails; this keeps an emitted one from ending the process.
    this.client.on('error', () => {});
  }

  async drain(handle: ReportHandler, limit = Number.POSITIVE_INFINITY): Promise<MessageOutcome[]> {
    try {
      await this.imap('log in', () => this.client.connect());
      for (const folder of [this.done, this.rejected]) {
        await this.imap(`create ${folder}`, () => this.client.mailboxCreate(folder));
      }
      const lock = await this.imap(`open ${this.target.folder}`, () => this.client.getMailboxLock(this.target.folder));
      try {
        return await this.readAll(handle, limit);
      } finally {
        lock.release();
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Each message read, then moved where its verdict says, MOVE_BATCH at a time (one MOVE per folder, not one per
   * message). A message read but not yet moved when the reading stops is read again next time: its reports are
   * counted once (org, report id), so the worst a crash costs is a second look.
   */
  private async readAll(handle: ReportHandler, limit: number): Promise<MessageOutcome[]> {
    const mailbox = this.client.mailbox;
    if (!mailbox || mailbox.exists === 0) return [];
    const listed = await this.imap('list messages', () =>
      this.client.fetchAll('1:*', { uid: true, size: true, bodyStructure: true }),
    );
    const outcomes: MessageOutcome[] = [];
    let unmoved: MessageOutcome[] = [];
    try {
      for (const message of listed.sort((a, b) => a.uid - b.uid).slice(0, limit)) {
        const size = message.size ?? 0;
        const verdict = await this.verdict(message.uid, size, message.bodyStructure, handle);
        unmoved.push({
          uid: message.uid,
          ...verdict,
          movedTo: verdict.result === 'imported' ? this.done : this.rejected,
        });
        if (unmoved.length >= MOVE_BATCH) {
          outcomes.push(...(await this.moveAll(unmoved)));
          unmoved = [];
        }
      }
    } catch (error) {
      // What was read before the failure is moved if the link allows; the failure is what the caller hears of.
      if (this.client.usable) await this.moveAll(unmoved).catch(() => {});
      throw error;
    }
    outcomes.push(...(await this.moveAll(unmoved)));
    return outcomes;
  }

  private async moveAll(outcomes: MessageOutcome[]): Promise<MessageOutcome[]> {
    for (const folder of new Set(outcomes.map((o) => o.movedTo))) {
      await this.move(
        outcomes.filter((o) => o.movedTo === folder).map((o) => o.uid),
        folder,
      );
    }
    return outcomes;
  }

  private async verdict(
    uid: number,
    size: number,
    structure: MessageStructureObject | undefined,
    handle: ReportHandler,
  ): Promise<ReportVerdict> {
    if (size > this.maxBytes) return { result: 'rejected', reason: `over ${this.maxBytes} bytes (${size})` };
    const parts = structure ? reportParts(structure) : [];
    if (parts.length === 0) return { result: 'rejected', reason: 'no report attachment' };
    const attachments: ReportAttachment[] = [];
    for (const part of parts) {
      const content = await this.download(uid, part.id);
      if (!content) return { result: 'rejected', reason: `attachment ${part.id} could not be read` };
      attachments.push({ filename: part.filename, contentType: part.contentType, content });
    }
    return handle({ uid, size, attachments });
  }

  /** A part's content, transfer encoding removed; null when the server has no such part. */
  private download(uid: number, part: string): Promise<Buffer | null> {
    return this.imap(`download message ${uid}`, async () => {
      const download = await this.client.download(String(uid), part, { uid: true, maxBytes: this.maxBytes });
      if (!download.content) {
        // imapflow answers "nothing" for a part the server does not have, and for a link that dropped.
        if (this.client.usable) return null;
        throw this.failure(`download message ${uid}`, 'transient', 'the link dropped');
      }
      const chunks: Buffer[] = [];
      for await (const chunk of download.content) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  private async move(uids: number[], folder: string): Promise<void> {
    const what = `move message ${uids.join(',')} to ${folder}`;
    const moved = await this.imap(what, () => this.client.messageMove(uids.join(','), folder, { uid: true }));
    if (moved) return;
    // imapflow answers false instead of throwing: a link that dropped, or the server's refusal.
    if (!this.client.usable) throw this.failure(what, 'transient', 'the link dropped');
    throw this.failure(what, 'terminal', 'the server refused');
  }

  /** Runs one IMAP exchange; its failure becomes a ProviderError that says what was being done. */
  private async imap<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw this.fromImapError(what, error);
    }
  }

  private fromImapError(what: string, error: unknown): ProviderError {
    const e = error as { authenticationFailed?: boolean; responseText?: string; code?: string; message?: string };
    if (e.authenticationFailed) return this.failure(what, 'terminal', 'login refused');
    // A tagged NO or BAD on a link still up: the server refused the command, and will again.
    if (e.responseText && this.client.usable) return this.failure(what, 'terminal', `refused: ${e.responseText}`);
    return this.failure(what, 'transient', e.code ?? e.message ?? 'network error');
  }

  private failure(what: string, kind: 'transient' | 'terminal', why: string): ProviderError {
    const { user, host, port, password } = this.target;
    const message = `IMAP ${what} as ${user} at ${host}:${port} failed: ${why}`;
    return new ProviderError(PROVIDER, kind, message.split(password).join('[redacted]'));
  }

  private async close(): Promise<void> {
    if (this.client.usable) {
      try {
        await this.client.logout();
        return;
      } catch {
        // The link went down meanwhile: closing below is all there is left to do.
      }
    }
    this.client.close();
  }
}

interface ReportPart {
  /** The IMAP body part number (`1`, `2.1`). */
  id: string;
  filename: string;
  contentType: string;
}

const REPORT_TYPES = new Set([
  'application/zip',
  'application/x-zip-compressed',
  'application/gzip',
  'application/x-gzip',
  'application/xml',
  'text/xml',
]);
const REPORT_NAME = /\.(xml|xml\.gz|gz|zip)$/i;

/** The parts that may hold a report: named `.xml`, `.gz` or `.zip`, or typed as XML, gzip or zip. */
export function reportParts(node: MessageStructureObject): ReportPart[] {
  if (node.childNodes?.length) return node.childNodes.flatMap(reportParts);
  const filename = node.dispositionParameters?.filename ?? node.parameters?.name ?? '';
  const contentType = node.type.toLowerCase();
  if (!REPORT_TYPES.has(contentType) && !REPORT_NAME.test(filename)) return [];
  // A message that is nothing but its attachment has no part number: its body is part 1.
  return [{ id: node.part ?? '1', filename, contentType }];
}
