import { isFinished, type Run } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import { storeView } from './store-view.ts';
import type { Ending, Workflow } from './types.ts';

/** What happens, inside the transaction of a person's decision (or a card's expiry), when runs end before their work. */

/**
 * Ends, inside the caller's transaction, the unfinished runs that end with `run` (a group's members when the group
 * is cancelled or rejected): at once, so that none goes on writing at OVH until it next looks at the group. A step
 * of one under way finds its run moved and commits nothing. Returns how many ended.
 */
export function endFollowing(
  store: Store,
  workflow: Workflow,
  run: Run,
  how: Ending,
  actor: string,
  now: number,
): number {
  return endRuns(store, workflow.endsWith?.(run, how, storeView(store), now) ?? [], run, how, actor, now);
}

/** Ends each unfinished run of `ids` as `how`, because of `cause`, inside the caller's transaction. */
export function endRuns(store: Store, ids: number[], cause: Run, how: Ending, actor: string, now: number): number {
  let ended = 0;
  for (const id of ids) {
    const member = store.runs.get(id);
    if (!member || isFinished(member.state)) continue;
    store.approvals.closePending(id, 'superseded', `run #${cause.id} ${how}`, now);
    const moved = store.runs.update(
      id,
      member.version,
      { ...unchanged(member), state: how, nextCheckAt: null, lastError: null },
      now,
    );
    if (!moved) continue;
    store.events.add(id, actor, how, { with: cause.id }, now);
    ended++;
  }
  return ended;
}

/**
 * A run cancelled or rejected keeps only what the audit trail may keep of its params (an order's transfer code and
 * owner's personal fields dropped), and its cards lose their previews: nothing will ever send them now.
 */
export function dropPrivateParams(store: Store, workflow: Workflow, run: Run): void {
  if (!workflow.auditParams) return;
  store.runs.setParams(run.id, workflow.auditParams(run.params));
  store.outbox.dropPreviews(run.id);
}
