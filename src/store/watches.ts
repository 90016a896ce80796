import { type Db, preparedOnce, type Statements } from './db.ts';

/** A finished domain under watch (DESIGN §2.7): the key that signs and where DNS must serve it. */
export interface Watch {
  domain: string;
  runId: number;
  offer: 'exchange' | 'pro' | 'mxplan';
  org: string | null;
  service: string | null;
  selector: string;
  recordName: string;
  target: string;
  signingSince: number;
  status: 'ok' | 'broken';
  observation: string | null;
  checkedAt: number | null;
  remindedAt: number | null;
}

export type NewWatch = Pick<
  Watch,
  'domain' | 'runId' | 'offer' | 'org' | 'service' | 'selector' | 'recordName' | 'target' | 'signingSince'
>;

interface WatchRow {
  domain: string;
  run_id: number;
  offer: Watch['offer'];
  org: string | null;
  service: string | null;
  selector: string;
  record_name: string;
  target: string;
  signing_since: number;
  status: Watch['status'];
  observation: string | null;
  checked_at: number | null;
  reminded_at: number | null;
}

function toWatch(row: WatchRow): Watch {
  return {
    domain: row.domain,
    runId: row.run_id,
    offer: row.offer,
    org: row.org,
    service: row.service,
    selector: row.selector,
    recordName: row.record_name,
    target: row.target,
    signingSince: row.signing_since,
    status: row.status,
    observation: row.observation,
    checkedAt: row.checked_at,
    remindedAt: row.reminded_at,
  };
}

export class WatchRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  /** The domain's watch from now on: a new key (another selector or a new key age) starts a fresh watch. */
  upsert(watch: NewWatch, now: number): void {
    this.db
      .prepare(
        `INSERT INTO watches (domain, run_id, offer, org, service, selector, record_name, target, signing_since, updated_at)
         VALUES (@domain, @runId, @offer, @org, @service, @selector, @recordName, @target, @signingSince, @now)
         ON CONFLICT (domain) DO UPDATE SET run_id = @runId, offer = @offer, org = @org, service = @service,
           selector = @selector, record_name = @recordName, target = @target, signing_since = @signingSince,
           status = 'ok', observation = NULL, reminded_at = NULL, updated_at = @now`,
      )
      .run({ ...watch, now });
  }

  /** No longer watched (DKIM turned off). */
  remove(domain: string): void {
    this.db.prepare('DELETE FROM watches WHERE domain = ?').run(domain);
  }

  get(domain: string): Watch | undefined {
    const row = this.db.prepare('SELECT * FROM watches WHERE domain = ?').get(domain) as WatchRow | undefined;
    return row && toWatch(row);
  }

  all(): Watch[] {
    return (this.db.prepare('SELECT * FROM watches ORDER BY domain').all() as WatchRow[]).map(toWatch);
  }

  broken(limit = 50): Watch[] {
    return (
      this.db.prepare(`SELECT * FROM watches WHERE status = 'broken' ORDER BY domain LIMIT ?`).all(limit) as WatchRow[]
    ).map(toWatch);
  }

  /**
   * What a check found, written by compare-and-set on the status it started from: false when another process changed
   * the status meanwhile (it announces the change, this one does not).
   */
  record(domain: string, from: Watch['status'], status: Watch['status'], observation: string, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE watches SET status = ?, observation = ?, checked_at = ?, updated_at = ? WHERE domain = ? AND status = ?`,
        )
        .run(status, observation, now, now, domain, from).changes === 1
    );
  }

  /** The reminder to rotate, taken once: false when it was already taken (by this process or another). */
  reminded(domain: string, now: number): boolean {
    return (
      this.db
        .prepare('UPDATE watches SET reminded_at = ?, updated_at = ? WHERE domain = ? AND reminded_at IS NULL')
        .run(now, now, domain).changes === 1
    );
  }
}
