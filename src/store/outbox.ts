import type { Notice } from '../domain/notices.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

export interface OutboxMessage {
  id: number;
  runId: number;
  notice: Notice;
  channel: string | null;
  attempts: number;
  nextAttemptAt: number;
  sentAt: number | null;
  resultTs: string | null;
  lastError: string | null;
}

interface OutboxRow {
  id: number;
  run_id: number;
  payload: string;
  channel: string | null;
  attempts: number;
  next_attempt_at: number;
  sent_at: number | null;
  result_ts: string | null;
  last_error: string | null;
}

function toMessage(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    runId: row.run_id,
    notice: JSON.parse(row.payload),
    channel: row.channel,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    sentAt: row.sent_at,
    resultTs: row.result_ts,
    lastError: row.last_error,
  };
}

/** Messages waiting for Slack. A dedupe key makes writing the same message twice a no-op. */
export class OutboxRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  /**
   * A message for Slack. One for a run with no channel (started from the CLI, a group's member) has nowhere to go: it is
   * kept as said (the CLI prints it), never waits for a delivery, and is pruned like any delivered message.
   */
  add(runId: number, notice: Notice, channel: string | null, dedupeKey: string, now: number): void {
    this.db
      .prepare(
        `INSERT INTO outbox (run_id, op, channel, payload, dedupe_key, next_attempt_at, created_at, sent_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      )
      .run(runId, notice.type, channel, JSON.stringify(notice), dedupeKey, now, now, channel === null ? now : null);
  }

  /**
   * Per run with something unsent, its oldest unsent message, if it is due: delivery stays in order within a thread.
   */
  nextPerRun(now: number, limit: number): OutboxMessage[] {
    const rows = this.db
      .prepare(
        `SELECT o.* FROM outbox o
         JOIN (SELECT run_id, MIN(id) AS id FROM outbox WHERE sent_at IS NULL AND channel IS NOT NULL GROUP BY run_id) h
           ON h.id = o.id
         WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?`,
      )
      .all(now, limit) as OutboxRow[];
    return rows.map(toMessage);
  }

  /** When the next message at the head of a thread's queue may be tried. */
  nextAttemptAt(): number | undefined {
    const row = this.db
      .prepare(
        `SELECT MIN(o.next_attempt_at) AS at FROM outbox o
         JOIN (SELECT MIN(id) AS id FROM outbox WHERE sent_at IS NULL AND channel IS NOT NULL GROUP BY run_id) h
           ON h.id = o.id`,
      )
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  forRun(runId: number): OutboxMessage[] {
    return (this.db.prepare('SELECT * FROM outbox WHERE run_id = ? ORDER BY id').all(runId) as OutboxRow[]).map(
      toMessage,
    );
  }

  lastId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM outbox').get() as { id: number }).id;
  }

  /** Every message written after `id`, in order (the CLI prints what a command made the bot say). */
  since(id: number): OutboxMessage[] {
    return (this.db.prepare('SELECT * FROM outbox WHERE id > ? ORDER BY id').all(id) as OutboxRow[]).map(toMessage);
  }

  newerUpdateExists(runId: number, afterId: number): boolean {
    return (
      this.db
        .prepare(`SELECT 1 FROM outbox WHERE run_id = ? AND op = 'parent_update' AND id > ? LIMIT 1`)
        .get(runId, afterId) !== undefined
    );
  }

  /** Removes the previews (private order details) from a run's approval cards, sent or not. */
  /** A run's messages that had nowhere to go (a group's member speaks in its group's thread): dropped. */
  dropUndeliverable(runId: number): void {
    this.db.prepare('DELETE FROM outbox WHERE run_id = ? AND channel IS NULL').run(runId);
  }

  dropPreviews(runId: number): void {
    this.db
      .prepare(
        `UPDATE outbox SET payload = json_remove(payload, '$.preview')
         WHERE run_id = ? AND op = 'approval_request' AND json_extract(payload, '$.preview') IS NOT NULL`,
      )
      .run(runId);
  }

  /**
   * Takes an unsent message for delivery by `owner` until `until`, unless another live claim holds it: two
   * processes on one database never deliver the same message at once.
   */
  claim(id: number, owner: string, now: number, until: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE outbox SET claimed_by = ?, claimed_until = ?
           WHERE id = ? AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?)`,
        )
        .run(owner, until, id, now, owner).changes === 1
    );
  }

  markSent(id: number, resultTs: string | null, now: number): void {
    this.db
      .prepare('UPDATE outbox SET sent_at = ?, result_ts = ?, last_error = NULL, claimed_until = NULL WHERE id = ?')
      .run(now, resultTs, id);
  }

  /** Out of the queue without being delivered (a terminal Slack error): kept, with the reason, for the audit. */
  markAbandoned(id: number, reason: string, now: number): void {
    this.db
      .prepare('UPDATE outbox SET sent_at = ?, result_ts = NULL, last_error = ? WHERE id = ?')
      .run(now, `abandoned: ${reason}`, id);
  }

  markFailed(id: number, error: string, nextAttemptAt: number): void {
    this.db
      .prepare(
        'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL WHERE id = ?',
      )
      .run(error, nextAttemptAt, id);
  }

  /** When the oldest message still waiting for Slack was written. */
  oldestPendingAt(): number | undefined {
    const row = this.db
      .prepare('SELECT MIN(created_at) AS at FROM outbox WHERE sent_at IS NULL AND channel IS NOT NULL')
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  pendingCount(): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND channel IS NOT NULL').get() as {
        n: number;
      }
    ).n;
  }
}
