import { FINISHED_STATES } from '../domain/runs.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

const FINISHED = `state IN (${FINISHED_STATES.map((s) => `'${s}'`).join(', ')})`;
/**
 * Runs whose time is over: finished before `before`, and no watch or DMARC journey speaks in their thread (a watched
 * domain's last setup or rotation stays, with its audit trail, as long as the domain is watched).
 */
const PRUNABLE = `SELECT id FROM runs WHERE ${FINISHED} AND updated_at < @before
  AND id NOT IN (SELECT run_id FROM watches) AND id NOT IN (SELECT run_id FROM dmarc_domains)`;

/**
 * What only grows, deleted by age in small batches (RETENTION_DAYS): messages delivered long ago, and runs finished
 * long ago with what belongs to them — their audit trail goes with them, never before. Each call deletes at most
 * `limit` rows of one table, so that a pass never holds the database (or the event loop) for long.
 */
export class PruneRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  deliveredMessages(before: number, limit: number): number {
    return this.db
      .prepare(
        'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? LIMIT ?)',
      )
      .run(before, limit).changes;
  }

  /** The audit trail of runs whose time is over. */
  events(before: number, limit: number): number {
    return this.db
      .prepare(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE run_id IN (${PRUNABLE}) LIMIT @limit)`)
      .run({ before, limit }).changes;
  }

  scanResults(before: number, limit: number): number {
    return this.db
      .prepare(
        `DELETE FROM scan_results WHERE rowid IN
           (SELECT rowid FROM scan_results WHERE run_id IN (${PRUNABLE}) LIMIT @limit)`,
      )
      .run({ before, limit }).changes;
  }

  /** Runs whose time is over and that nothing else holds any more: their approvals and messages, then them. */
  runs(before: number, limit: number): number {
    const ids = (
      this.db
        .prepare(
          `SELECT id FROM runs WHERE id IN (${PRUNABLE})
             AND id NOT IN (SELECT run_id FROM events WHERE run_id IS NOT NULL)
             AND id NOT IN (SELECT run_id FROM scan_results)
           LIMIT @limit`,
        )
        .all({ before, limit }) as { id: number }[]
    ).map((r) => r.id);
    for (const id of ids) {
      this.db.prepare('DELETE FROM approvals WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM outbox WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    }
    return ids.length;
  }
}
