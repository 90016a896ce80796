import type { WebClient } from '@slack/web-api';
import { backoffMs } from '../backoff.ts';
import type { Clock } from '../clock.ts';
import type { Notice } from '../domain/notices.ts';
import { scanCsv } from '../domain/scan.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { OutboxMessage } from '../store/outbox.ts';
import { answeredChoice, decidedCard } from './render/cards.ts';
import { mrkdwn } from './render/escape.ts';
import { parentMessage, replyMessage } from './render/messages.ts';

/** Slack errors that will not get better by retrying the same message. */
const TERMINAL_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'invalid_blocks',
  'invalid_arguments',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'restricted_action',
]);

const RETRY = { attempts: Number.POSITIVE_INFINITY, baseMs: 2_000, maxMs: 5 * 60_000 };
const MAX_ATTEMPTS = 50;
/**
 * How long a message being delivered is claimed: longer than every Slack call its delivery makes could take (a file
 * takes three), so that no other process posts it again while this one still waits; short enough after a crash.
 */
export function claimMs(slackTimeoutMs: number): number {
  return Math.max(60_000, 4 * slackTimeoutMs + 5_000);
}

/**
 * Drains the outbox to Slack: the parent message first (its ts becomes the run's thread), then every later message
 * as a threaded reply, in order within a thread. Retried with backoff on errors and after Retry-After on 429;
 * a message is marked sent only once Slack said ok, so nothing is lost across restarts. A message is claimed before
 * it is delivered, so two processes on one database never post it twice. A database error ends the drain, logged:
 * the next drain (the poller's tick) tries again.
 */
export class Notifier {
  private draining?: Promise<number>;
  private again = false;
  private closed = false;
  constructor(
    private readonly store: Store,
    private readonly client: WebClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** This process's boot id, and how long a claim lasts (`claimMs`). */
    private readonly claim: { owner: string; ms: number },
    /** When the next batch may go: a drain under way waits while Slack's requests are being answered (AckFirst). */
    private readonly turn: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Delivers what is due; a call during a drain makes the drain go round once more. */
  drain(): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = this.drainLoop()
      .catch((error) => {
        this.log.error('slack delivery interrupted; the next drain goes on', { error });
        return 0;
      })
      .finally(() => {
        this.draining = undefined;
      });
    return this.draining;
  }

  private async drainLoop(): Promise<number> {
    let sent = 0;
    do {
      this.again = false;
      for (;;) {
        await this.turn();
        if (this.closed) break;
        const batch = this.store.outbox.nextPerRun(this.clock.now(), 20);
        if (batch.length === 0) break;
        const results = await Promise.all(batch.map((message) => this.deliver(message)));
        sent += results.filter(Boolean).length;
        if (!results.some(Boolean)) break;
      }
    } while (this.again);
    return sent;
  }

  /** Delivers what is due for at most `ms` (real time): a stopping bot says what it can, and then stops. */
  async drainFor(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.drain(), timeUp]);
    clearTimeout(timer);
  }

  /** Stops delivering (before the database closes); waits for the drain under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  /** True when the message left the queue (sent, superseded or given up). */
  private async deliver(message: OutboxMessage): Promise<boolean> {
    const run = this.store.runs.get(message.runId);
    if (!run || !message.channel) return false;
    const now = () => this.clock.now();
    if (!this.store.outbox.claim(message.id, this.claim.owner, now(), now() + this.claim.ms)) return false;
    try {
      const notice = message.notice;
      if (notice.type === 'parent') {
        const posted = await this.client.chat.postMessage({
          channel: message.channel,
          ...parentMessage(notice.summary),
        });
        const channel = posted.channel ?? message.channel;
        if (!posted.ts) throw new Error('Slack answered chat.postMessage without a ts');
        this.store.transaction(() => {
          this.store.runs.setThread(run.id, channel, posted.ts ?? '');
          this.store.outbox.markSent(message.id, posted.ts ?? null, now());
        });
        return true;
      }
      if (!run.threadTs || !run.channelId)
        return this.giveUp(message, 'the run has no thread (its parent message failed)');
      if (notice.type === 'parent_update') {
        if (this.store.outbox.newerUpdateExists(run.id, message.id)) {
          this.store.outbox.markSent(message.id, null, now());
          return true;
        }
        await this.client.chat.update({ channel: run.channelId, ts: run.threadTs, ...parentMessage(notice.summary) });
        this.store.outbox.markSent(message.id, run.threadTs, now());
        return true;
      }
      if (notice.type === 'approval_decided' || notice.type === 'choice_made') {
        const card = this.cardOf(run.id, notice);
        if (card) await this.client.chat.update({ channel: run.channelId, ts: card.ts, ...card.answered });
        this.store.outbox.markSent(message.id, card?.ts ?? null, now());
        return true;
      }
      if (notice.type === 'file') {
        await this.upload(message, notice, run.channelId, run.threadTs);
        this.store.outbox.markSent(message.id, null, now());
        return true;
      }
      const earlier = notice.type === 'reply' && !notice.mention ? this.sameStep(run.id, message) : undefined;
      if (earlier) {
        await this.client.chat.update({
          channel: run.channelId,
          ts: earlier,
          ...replyMessage(notice, run.requestedBy),
        });
        this.store.outbox.markSent(message.id, earlier, now());
        return true;
      }
      const posted = await this.client.chat.postMessage({
        channel: run.channelId,
        thread_ts: run.threadTs,
        ...replyMessage(notice, run.requestedBy),
      });
      this.store.outbox.markSent(message.id, posted.ts ?? null, now());
      return true;
    } catch (error) {
      return this.failed(message, error);
    }
  }

  /**
   * A file in the thread, through files.uploadV2 (its three calls: an upload URL, the bytes, the share). The content
   * is made now from the run's records: a scan's whole table as CSV.
   */
  private async upload(
    message: OutboxMessage,
    notice: Extract<Notice, { type: 'file' }>,
    channel: string,
    threadTs: string,
  ): Promise<void> {
    const content = notice.content ?? scanCsv(this.store.scans.results(message.runId));
    await this.client.filesUploadV2({
      channel_id: channel,
      thread_ts: threadTs,
      file: Buffer.from(content, 'utf8'),
      filename: notice.filename,
      title: notice.title,
      initial_comment: mrkdwn(notice.comment),
    });
  }

  /** The reply already posted about the same step (same key): a request and its confirmation are one message. */
  private sameStep(runId: number, message: OutboxMessage): string | undefined {
    const notice = message.notice;
    if (notice.type !== 'reply' || !notice.key) return undefined;
    return (
      this.store.outbox
        .forRun(runId)
        .filter((m) => m.id < message.id && m.resultTs && m.notice.type === 'reply' && m.notice.key === notice.key)
        .at(-1)?.resultTs ?? undefined
    );
  }

  /** The posted card a decision or an answer is about, and how it reads now. */
  private cardOf(runId: number, answer: Extract<Notice, { type: 'approval_decided' | 'choice_made' }>) {
    for (const m of this.store.outbox.forRun(runId)) {
      const n: Notice = m.notice;
      if (!m.resultTs) continue;
      if (answer.type === 'approval_decided' && n.type === 'approval_request' && n.approvalId === answer.approvalId) {
        return { ts: m.resultTs, answered: decidedCard(n, answer) };
      }
      if (answer.type === 'choice_made' && n.type === 'choice' && n.key === answer.key) {
        return { ts: m.resultTs, answered: answeredChoice(n, answer) };
      }
    }
    return undefined;
  }

  private failed(message: OutboxMessage, error: unknown): boolean {
    const { code, reason, retryAfterMs } = describeSlackError(error);
    if (TERMINAL_ERRORS.has(reason) || message.attempts + 1 >= MAX_ATTEMPTS) {
      return this.giveUp(message, reason);
    }
    const wait = Math.max(retryAfterMs ?? 0, backoffMs(message.attempts, RETRY));
    this.store.outbox.markFailed(message.id, reason, this.clock.now() + wait);
    this.log.warn('slack delivery failed; will retry', { outboxId: message.id, code, reason, retryInMs: wait });
    return false;
  }

  private giveUp(message: OutboxMessage, reason: string): boolean {
    this.log.error('slack delivery abandoned', { outboxId: message.id, runId: message.runId, reason });
    this.store.outbox.markAbandoned(message.id, reason, this.clock.now());
    if (message.notice.type === 'file') this.sayFileRefused(message, reason);
    return true;
  }

  /** A file Slack refused is said in its thread, with Slack's answer (a missing scope is named). */
  private sayFileRefused(message: OutboxMessage, reason: string): void {
    const run = this.store.runs.get(message.runId);
    if (!run) return;
    const scope =
      reason === 'missing_scope'
        ? ' The app needs the `files:write` scope (manifest.yml): add it and reinstall the app.'
        : '';
    const text = `The CSV file could not be attached: Slack answered \`${reason}\`.${scope} On the bot's host, \`npm run cli -- scan --json\` scans again and prints the whole table.`;
    this.store.transaction(() =>
      this.store.outbox.add(
        run.id,
        { type: 'reply', level: 'warning', text },
        run.channelId,
        `file-refused-${message.id}`,
        this.clock.now(),
      ),
    );
  }
}

export function describeSlackError(error: unknown): { code: string; reason: string; retryAfterMs?: number } {
  const e = error as { code?: string; data?: { error?: string }; retryAfter?: number; statusCode?: number };
  const code = e?.code ?? 'unknown';
  if (code === 'slack_webapi_rate_limited_error') {
    return { code, reason: 'ratelimited', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
  }
  if (code === 'slack_webapi_platform_error') return { code, reason: e.data?.error ?? 'platform_error' };
  if (code === 'slack_webapi_http_error') return { code, reason: `http_${e.statusCode ?? 'error'}` };
  return { code, reason: error instanceof Error ? error.message : String(error) };
}
