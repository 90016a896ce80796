import { showRun } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { words } from '../domain/text.ts';
import type { Store } from '../store/index.ts';
import { summarize } from './summary.ts';

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
  say(run: Run, notices: Notice[], key: string, now: number, relay: Relay = 'needs people'): void {
    if (notices.length === 0) return;
    this.relay(run, notices, key, now, relay);
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

  /**
   * A member of a group (Set up all) has no thread of its own: what needs people (records to add, a failure, a stall,
   * and everything the watch says) is said in the group's thread, naming the domain. The rest is counted there.
   */
  private relay(run: Run, notices: Notice[], key: string, now: number, relay: Relay): void {
    const groupId = (run.params as { group?: unknown }).group;
    if (typeof groupId !== 'number') return;
    const group = this.store.runs.get(groupId);
    if (!group) return;
    const named = notices.filter((n) => relay === 'all' || needsPeople(n)).map((n) => nameDomain(n, run));
    this.say(group, named, `m${run.id}:${key}`, now);
  }
}

/** What a group's member says in the group's thread: what needs people, or (the watch) everything. */
export type Relay = 'needs people' | 'all';

function needsPeople(notice: Notice): boolean {
  if (notice.type === 'records') return true;
  return notice.type === 'reply' && notice.mention === true && (notice.level === 'warning' || notice.level === 'error');
}

/** A member's notice in its group's thread: its domain named; its step's key its own, apart from the others'. */
function nameDomain(notice: Notice, run: Run): Notice {
  if (notice.type === 'records') return { ...notice, text: words`*${showRun(run)}* — ${notice.text}` };
  if (notice.type !== 'reply') return notice;
  const key = notice.key ? { key: `m${run.id}:${notice.key}` } : {};
  return { ...notice, ...key, text: words`*${showRun(run)}* — ${notice.text}` };
}
