import type { Approval, ApprovalStatus } from '../domain/runs.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

interface ApprovalRow {
  id: number;
  run_id: number;
  action: string;
  snapshot: string;
  status: ApprovalStatus;
  requested_by: string;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
  created_at: number;
  expires_at: number;
}

function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    runId: row.run_id,
    action: row.action,
    snapshot: JSON.parse(row.snapshot),
    status: row.status,
    requestedBy: row.requested_by,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    reason: row.reason,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export class ApprovalRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  create(
    input: { runId: number; action: string; snapshot: object; requestedBy: string; expiresAt: number },
    now: number,
  ): Approval {
    const result = this.db
      .prepare(
        `INSERT INTO approvals (run_id, action, snapshot, requested_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(input.runId, input.action, JSON.stringify(input.snapshot), input.requestedBy, now, input.expiresAt);
    const approval = this.get(Number(result.lastInsertRowid));
    if (!approval) throw new Error('an approval vanished as it was written');
    return approval;
  }

  get(id: number): Approval | undefined {
    const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  /** A run's approvals, oldest first. */
  forRun(runId: number): Approval[] {
    return (this.db.prepare('SELECT * FROM approvals WHERE run_id = ? ORDER BY id').all(runId) as ApprovalRow[]).map(
      toApproval,
    );
  }

  latestForRun(runId: number): Approval | undefined {
    const row = this.db.prepare('SELECT * FROM approvals WHERE run_id = ? ORDER BY id DESC LIMIT 1').get(runId) as
      | ApprovalRow
      | undefined;
    return row && toApproval(row);
  }

  /**
   * The compare-and-set that consumes an approval: only a pending, unexpired approval moves, and only once.
   */
  decide(id: number, status: 'approved' | 'rejected', by: string, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?
           WHERE id = ? AND status = 'pending' AND expires_at > ?`,
        )
        .run(status, by, now, id, now).changes === 1
    );
  }

  /** Cards waiting for a decision that can still be approved. */
  countPending(now: number): number {
    return (
      this.db.prepare(`SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending' AND expires_at > ?`).get(now) as {
        n: number;
      }
    ).n;
  }

  /** Closes every pending approval of a run (expired, superseded by a fresh card, or the run cancelled). */
  closePending(runId: number, status: 'expired' | 'superseded', reason: string, now: number): void {
    this.db
      .prepare(`UPDATE approvals SET status = ?, reason = ?, decided_at = ? WHERE run_id = ? AND status = 'pending'`)
      .run(status, reason, now, runId);
  }
}
