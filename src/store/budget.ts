import { type Db, preparedOnce, type Statements, type Transactional } from './db.ts';

/**
 * The OVH budget's slots, shared by every process on the database (OVH counts per credentials, not per process). A
 * slot is held from its grant until `windowMs` after its answer; a slot never answered (its process died mid-call)
 * counts as answered at its grant plus `maxCallMs`, the longest a call can take.
 */
export class BudgetRepository {
  private readonly db: Statements;

  constructor(
    raw: Db,
    /** The store's one transaction wrapper. */
    private readonly transaction: Transactional,
  ) {
    this.db = preparedOnce(raw);
  }

  /**
   * Takes a slot if fewer than `limit` are held, in one IMMEDIATE transaction (two processes never both take the
   * last one). Otherwise says what holds the budget: slots in flight, and when the oldest answered one expires.
   */
  take(
    budget: string,
    owner: string,
    now: number,
    { limit, windowMs, maxCallMs }: { limit: number; windowMs: number; maxCallMs: number },
  ): { slot: number } | { inFlight: number; oldestDoneAt: number | undefined } {
    return this.transaction.immediate(() => {
      const since = now - windowMs;
      this.db
        .prepare('DELETE FROM ovh_slots WHERE budget = ? AND COALESCE(done_at, granted_at + ?) <= ?')
        .run(budget, maxCallMs, since);
      const held = this.db
        .prepare(
          `SELECT
               SUM(CASE WHEN done_at IS NULL AND granted_at + ? > ? THEN 1 ELSE 0 END) AS inFlight,
               COUNT(*) AS total,
               MIN(CASE WHEN done_at IS NOT NULL OR granted_at + ? <= ? THEN COALESCE(done_at, granted_at + ?) END) AS oldest
             FROM ovh_slots WHERE budget = ?`,
        )
        .get(maxCallMs, now, maxCallMs, now, maxCallMs, budget) as {
        inFlight: number | null;
        total: number;
        oldest: number | null;
      };
      if (held.total < limit) {
        const slot = this.db
          .prepare('INSERT INTO ovh_slots (budget, owner, granted_at) VALUES (?, ?, ?)')
          .run(budget, owner, now);
        return { slot: Number(slot.lastInsertRowid) };
      }
      return { inFlight: held.inFlight ?? 0, oldestDoneAt: held.oldest ?? undefined };
    });
  }

  done(slot: number, now: number): void {
    this.db.prepare('UPDATE ovh_slots SET done_at = ? WHERE id = ?').run(now, slot);
  }
}
