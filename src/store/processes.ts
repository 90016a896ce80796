import { type Db, preparedOnce, type Statements } from './db.ts';

/** A process working on the database, as it registered itself. */
export interface ProcessRow {
  id: string;
  host: string;
  pid: number;
  pidNs: string | null;
  startedAt: number;
  heartbeatAt: number;
}

/** The processes working on this database: each registers at boot, beats while it lives, leaves when it stops. */
export class ProcessRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  register(row: Omit<ProcessRow, 'heartbeatAt'>, now: number): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO processes (id, host, pid, pid_ns, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(row.id, row.host, row.pid, row.pidNs, row.startedAt, now);
  }

  beat(id: string, now: number): void {
    this.db.prepare('UPDATE processes SET heartbeat_at = ? WHERE id = ?').run(now, id);
  }

  get(id: string): ProcessRow | undefined {
    const row = this.db.prepare('SELECT * FROM processes WHERE id = ?').get(id) as
      | { id: string; host: string; pid: number; pid_ns: string | null; started_at: number; heartbeat_at: number }
      | undefined;
    return (
      row && {
        id: row.id,
        host: row.host,
        pid: row.pid,
        pidNs: row.pid_ns,
        startedAt: row.started_at,
        heartbeatAt: row.heartbeat_at,
      }
    );
  }

  leave(id: string): void {
    this.db.prepare('DELETE FROM processes WHERE id = ?').run(id);
  }

  /** Rows of processes not heard from since `before`: gone without leaving. */
  forgetSilentSince(before: number): number {
    return this.db.prepare('DELETE FROM processes WHERE heartbeat_at < ?').run(before).changes;
  }
}
