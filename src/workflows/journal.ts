import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
import { summarize } from './describe.ts';

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

  /**
   * Writes `notices` after the run's parent message, which the first thing said about a run writes (under one dedupe
   * key, so once): starting a run on Slack's ack path writes only the run, and its thread opens with its first news.
   */
  say(run: Run, notices: Notice[], key: string, now: number): void {
    if (notices.length === 0) return;
    this.store.outbox.add(run.id, { type: 'parent', summary: summarize(run) }, run.channelId, `${run.id}:start:0`, now);
    notices.forEach((notice, i) => {
      this.store.outbox.add(run.id, notice, run.channelId, `${run.id}:${key}:${i}`, now);
    });
    if (run.channelId) {
      setImmediate(() => {
        for (const listener of this.listeners) listener();
      });
    }
  }
}
