import { isFinished, type Run } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import { storeView } from './store-view.ts';
import type { Workflow } from './types.ts';

/** What happens, inside the transaction of a person's decision, when a run ends before its work is done. */

/**
 * Ends, inside the caller's transaction, the unfinished runs that end with `run` (a group's members when the group
 * is cancelled or rejected): at once, so that none goes on writing at OVH until it next looks at the group. A step
 * of one under way finds its run moved and commits nothing. Returns how many ended.
 */
export function endFollowing(
  store: Store,
  workflow: Workflow,
  run: Run,
  how: 'cancelled' | 'rejected',
  actor: string,
  now: number,
): number {
  const ids = workflow.endsWith?.(run, how, storeView(store)) ?? [];
  let ended = 0;
  for (const id of ids) {
    const member = store.runs.get(id);
    if (!member || isFinished(member.state)) continue;
    store.approvals.closePending(id, 'superseded', `run #${run.id} ${how}`, now);
    const moved = store.runs.update(
      id,
      member.version,
      { ...unchanged(member), state: how, nextCheckAt: null, lastError: null },
      now,
    );
    if (!moved) continue;
    store.events.add(id, actor, how, { with: run.id }, now);
    ended++;
  }
  return ended;
}

/**
 * A run cancelled or rejected keeps only what the audit trail may keep of its params (an order's transfer code and
 * owner's personal fields dropped): nothing will ever send them now.
 */
export function dropPrivateParams(store: Store, workflow: Workflow, run: Run): void {
  if (workflow.auditParams) store.runs.setParams(run.id, workflow.auditParams(run.params));
}
