import { showRun } from '../../domain/names.ts';
import { isFinished, type Run, type RunState } from '../../domain/runs.ts';
import { person, words } from '../../domain/text.ts';
import { type CardEntry, cardFor, type GrantFacts, grantHolds, shareOf } from '../../engine/approvals/grants.ts';
import { need } from '../../engine/invariant.ts';
import type { StepContext, StepOutcome, StoreView } from '../../engine/types.ts';
import { serviceSpec } from '../../providers/ovh-mail.ts';
import { type SetupFacts, serviceOf } from '../setup/facts.ts';

/**
 * A setup started by **Set up all** (`params.group`), as a member of its group: where it would post its own approval
 * card it asks the group's (`awaiting_group`), with the key it would enable. An approved card of the group that lists
 * that very ask gives it its share (engine/approvals/grants.ts), which holds while the group is active and the card
 * valid: its enable reads the key first, as every enable does, and a key no longer ready waits, and enables under the
 * same share when it is ready again with the record the card showed. A retried member asks anew.
 */

/** What a member asks of the group's card: the key it would enable (Exchange, Email Pro) or the switch (MX Plan). */
export interface GroupAsk extends CardEntry {
  runId: number;
  domain: string;
  service: string;
  selector?: string;
  target?: string;
  /** When it asked: a member that asks again (retried, its key made again) is not covered by an older card. */
  askedAt: number;
}

export interface MemberFacts extends SetupFacts, GrantFacts {
  groupAsk?: GroupAsk;
}

/** A member waiting for the group looks at it again this often (the group's decision wakes it at once). */
export const MEMBER_LOOK_MS = 60 * 60_000;

/** Whether a setup is a member of a group (started by **Set up all**). */
export function inGroup(run: Run): boolean {
  return typeof (run.params as { group?: unknown }).group === 'number';
}

export function groupOf(run: Run): number {
  return need((run.params as { group?: number }).group, 'the group of a member');
}

/** What a member waiting for the group asks (written by the member when it became ready). */
export function askOf(member: Run): GroupAsk {
  return need((member.facts as MemberFacts).groupAsk, `the ask of member #${member.id}`);
}

/**
 * A member whose key is ready (or whose switch may be turned on): still holding a share of the group's card for this
 * very key, on to the enable; otherwise it asks the group, whose next card will name it.
 */
export function memberReady(
  run: Run,
  facts: MemberFacts,
  key: { selector?: string; target?: string },
  ctx: StepContext,
  afterApproval: RunState,
): StepOutcome {
  const covers = facts.grant?.covers as Partial<GroupAsk> | undefined;
  const same = covers?.selector === key.selector && covers?.target === key.target;
  if (facts.grant && same && grantHolds(run, ctx.view, ctx.now)) {
    const text = words`Ready again: enabling under the group's approval (by ${person(facts.grant.by)}).`;
    return { state: afterApproval, facts, next: 'now', freshDeadline: true, notices: [{ type: 'reply', text }] };
  }
  const at = serviceOf(facts);
  const ask: GroupAsk = {
    runId: run.id,
    domain: run.domain,
    service: at ? serviceSpec(at) : 'unknown',
    ...(key.selector ? { selector: key.selector } : {}),
    ...(key.target ? { target: key.target } : {}),
    askedAt: ctx.now,
  };
  return {
    state: 'awaiting_group',
    facts: { ...facts, grant: undefined, groupAsk: ask, lastObservation: "Ready: waiting for the group's approval." },
    next: 'wait',
    wakeAt: ctx.now + MEMBER_LOOK_MS,
  };
}

/**
 * A member waiting for its group: an approved, valid card of the group listing its ask gives it its share, and on to
 * its enable; a rejection, or a group that ended without one, ends it.
 */
export function followGroup(run: Run, view: StoreView, now: number, afterApproval: RunState): StepOutcome {
  const facts = run.facts as MemberFacts;
  const groupId = groupOf(run);
  const ask = askOf(run);
  const share = shareOf(view, groupId, ask, now);
  if (share) {
    const text = words`Approved with the group (run #${groupId}) by ${person(share.by)}.`;
    return {
      state: afterApproval,
      facts: { ...facts, grant: share },
      next: 'now',
      freshDeadline: true,
      notices: [{ type: 'reply', text }],
    };
  }
  const group = view.run(groupId);
  const rejected = cardFor(view, groupId, ask, now)?.status === 'rejected';
  if (rejected || !group || isFinished(group.state)) {
    const state = rejected || group?.state === 'rejected' ? 'rejected' : 'cancelled';
    const text = `The group (run #${groupId}) ended (${group?.state ?? 'gone'}) without enabling ${showRun(run)}.`;
    return { state, facts, next: 'none', notices: [{ type: 'reply', text }] };
  }
  return { state: run.state, facts, next: 'wait', wakeAt: now + MEMBER_LOOK_MS };
}
