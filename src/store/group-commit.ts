import type { Db, Transactional } from './db.ts';

interface Queued {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Small writes that may share one commit. A burst of slash commands, each starting a run, would pay a commit each
 * (the write-ahead log written, its index updated): that commit is most of what a start costs. Writes queued in the
 * same turn of the event loop are made in one IMMEDIATE transaction instead, each in a savepoint of its own, so that
 * one that throws is undone alone and the others still commit. Each caller hears its own answer only once the commit
 * is done, so what it tells the user is written.
 */
export class GroupCommit {
  private queue: Queued[] = [];

  constructor(
    private readonly db: Db,
    private readonly transaction: Transactional,
  ) {}

  /** `work()`'s value once it is committed, with whatever else was queued in this turn of the event loop. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.transaction.immediate(() => batch.map(({ work }) => this.savepoint(work)));
    } catch (error) {
      // The commit itself failed (the database locked past busy_timeout, a full disk): nothing was written.
      for (const queued of batch) queued.reject(error);
      return;
    }
    for (const [i, queued] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) queued.resolve(outcome.value);
      else queued.reject(outcome?.error);
    }
  }

  /**
   * Inside the open transaction, a nested one is a savepoint. Some failures (a full disk, an I/O error, no memory)
   * make SQLite roll back the whole transaction, not only the savepoint: then the batch ends there, every caller
   * fails and nothing is written (the works after it would otherwise commit one by one, unseen).
   */
  private savepoint(work: () => unknown): Outcome {
    try {
      return { ok: true, value: this.transaction(work) };
    } catch (error) {
      if (!this.db.inTransaction) throw error;
      return { ok: false, error };
    }
  }
}
