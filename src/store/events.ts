import { type Db, preparedOnce, type Statements } from './db.ts';

export interface AuditEvent {
  id: number;
  runId: number | null;
  at: number;
  actor: string;
  type: string;
  detail: Record<string, unknown>;
}

/** The audit trail. Details never hold secrets: they are built from paths, statuses and ids only. */
export class EventRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  add(runId: number | null, actor: string, type: string, detail: object, now: number): void {
    this.db
      .prepare('INSERT INTO events (run_id, at, actor, type, detail) VALUES (?, ?, ?, ?, ?)')
      .run(runId, now, actor, type, JSON.stringify(detail));
  }

  forRun(runId: number): AuditEvent[] {
    const rows = this.db.prepare('SELECT * FROM events WHERE run_id = ? ORDER BY id').all(runId) as (Omit<
      AuditEvent,
      'detail' | 'runId'
    > & { run_id: number; detail: string })[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      at: r.at,
      actor: r.actor,
      type: r.type,
      detail: JSON.parse(r.detail),
    }));
  }
}
