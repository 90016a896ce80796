import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';

/**
 * What is said about a run: notices written to the outbox (inside the caller's transaction), each under a dedupe key
 * so that a step written twice says nothing twice; listeners hear of it once the transaction is done.
 */
export class Journal {
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly store: Store) {}

  /** Called (after the writing transaction) whenever messages were written to the outbox. */
  onOutbox(listener: () => void): void {
    this.listeners.push(listener);
  }

  say(run: Run, notices: Notice[], key: string, now: number): void {
    notices.forEach((notice, i) => {
      this.store.outbox.add(run.id, notice, run.channelId, `${run.id}:${key}:${i}`, now);
    });
    if (notices.length > 0 && run.channelId) {
      setImmediate(() => {
        for (const listener of this.listeners) listener();
      });
    }
  }
}
