import type { DmarcPolicy } from '../domain/dmarc-record.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

/** A domain whose SPF and DMARC the bot wrote (or found right and adopted), and where its journey stands. */
export interface DmarcDomain {
  domain: string;
  /** The dmarc run that last wrote: its thread is where the journey speaks. */
  runId: number;
  requestedBy: string;
  channelId: string | null;
  /** The SPF record DNS must serve; null when the bot neither wrote nor adopted one. */
  spf: string | null;
  dmarc: string;
  policy: DmarcPolicy;
  /** When the records were last written or adopted. */
  policySince: number;
  previousPolicy: DmarcPolicy | null;
  steppedUpAt: number | null;
  proposedAt: number | null;
  fallSaidAt: number | null;
  recordsStatus: 'ok' | 'broken';
  observation: string | null;
  checkedAt: number | null;
}

/** What a finished dmarc run leaves: the records as written, and the policy they set. */
export type WrittenRecords = Pick<DmarcDomain, 'domain' | 'runId' | 'requestedBy' | 'channelId' | 'spf' | 'dmarc'> & {
  policy: DmarcPolicy;
  /** A step-up: the policy before it, kept for a rollback. A rollback or a first write: none. */
  steppedUpFrom?: DmarcPolicy;
};

export type NoteKind = 'proof' | 'failing';

interface Row {
  domain: string;
  run_id: number;
  requested_by: string;
  channel_id: string | null;
  spf: string | null;
  dmarc: string;
  policy: DmarcPolicy;
  policy_since: number;
  previous_policy: DmarcPolicy | null;
  stepped_up_at: number | null;
  proposed_at: number | null;
  fall_said_at: number | null;
  records_status: 'ok' | 'broken';
  observation: string | null;
  checked_at: number | null;
}

function toDomain(row: Row): DmarcDomain {
  return {
    domain: row.domain,
    runId: row.run_id,
    requestedBy: row.requested_by,
    channelId: row.channel_id,
    spf: row.spf,
    dmarc: row.dmarc,
    policy: row.policy,
    policySince: row.policy_since,
    previousPolicy: row.previous_policy,
    steppedUpAt: row.stepped_up_at,
    proposedAt: row.proposed_at,
    fallSaidAt: row.fall_said_at,
    recordsStatus: row.records_status,
    observation: row.observation,
    checkedAt: row.checked_at,
  };
}

/**
 * The DMARC journey's state per domain (migration 0008). Every change that a process announces is a compare-and-set:
 * two processes reading the same reports say a thing once.
 */
export class DmarcDomainRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  get(domain: string): DmarcDomain | undefined {
    const row = this.db.prepare('SELECT * FROM dmarc_domains WHERE domain = ?').get(domain) as Row | undefined;
    return row && toDomain(row);
  }

  all(): DmarcDomain[] {
    return (this.db.prepare('SELECT * FROM dmarc_domains ORDER BY domain').all() as Row[]).map(toDomain);
  }

  /** A dmarc run finished: the records DNS serves now, the policy they set; the watch on them starts afresh. */
  written(records: WrittenRecords, now: number): void {
    const steppedUp = records.steppedUpFrom !== undefined;
    this.db
      .prepare(
        `INSERT INTO dmarc_domains (domain, run_id, requested_by, channel_id, spf, dmarc, policy, policy_since,
           previous_policy, stepped_up_at, records_status, updated_at)
         VALUES (@domain, @runId, @requestedBy, @channelId, @spf, @dmarc, @policy, @now, @previous, @steppedUpAt, 'ok',
           @now)
         ON CONFLICT (domain) DO UPDATE SET run_id = @runId, spf = COALESCE(@spf, spf), dmarc = @dmarc,
           policy = @policy, policy_since = @now, previous_policy = @previous, stepped_up_at = @steppedUpAt,
           fall_said_at = NULL, records_status = 'ok', observation = NULL, updated_at = @now`,
      )
      .run({
        domain: records.domain,
        runId: records.runId,
        requestedBy: records.requestedBy,
        channelId: records.channelId,
        spf: records.spf,
        dmarc: records.dmarc,
        policy: records.policy,
        previous: records.steppedUpFrom ?? null,
        steppedUpAt: steppedUp ? now : null,
        now,
      });
  }

  /** A proposal of a stricter policy was started now. */
  proposed(domain: string, now: number): void {
    this.db.prepare('UPDATE dmarc_domains SET proposed_at = ?, updated_at = ? WHERE domain = ?').run(now, now, domain);
  }

  /** The fall after a step-up, taken once: false when it was already said (by this process or another). */
  fallSaid(domain: string, now: number): boolean {
    return (
      this.db
        .prepare('UPDATE dmarc_domains SET fall_said_at = ?, updated_at = ? WHERE domain = ? AND fall_said_at IS NULL')
        .run(now, now, domain).changes === 1
    );
  }

  /** Passes recovered: a later fall is said again. */
  fallOver(domain: string, now: number): void {
    this.db
      .prepare(
        'UPDATE dmarc_domains SET fall_said_at = NULL, updated_at = ? WHERE domain = ? AND fall_said_at IS NOT NULL',
      )
      .run(now, domain);
  }

  /** The records' status by compare-and-set from `from`: true when this call changed it (or confirmed it). */
  recordsChecked(
    domain: string,
    from: DmarcDomain['recordsStatus'],
    status: DmarcDomain['recordsStatus'],
    observation: string,
    now: number,
  ): boolean {
    return (
      this.db
        .prepare(
          `UPDATE dmarc_domains SET records_status = ?, observation = ?, checked_at = ?, updated_at = ?
           WHERE domain = ? AND records_status = ?`,
        )
        .run(status, observation, now, now, domain, from).changes === 1
    );
  }

  /** A note about a selector, taken once: false when it was already said. */
  noteOnce(domain: string, selector: string, kind: NoteKind, now: number): boolean {
    return (
      this.db
        .prepare('INSERT INTO dmarc_notes (domain, selector, kind, said_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(domain, selector, kind, now).changes === 1
    );
  }
}
