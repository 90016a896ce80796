import { mention } from '../../domain/actors.ts';
import { showRun } from '../../domain/names.ts';
import { type Approval, isFinished, type Run, type RunState } from '../../domain/runs.ts';
import type { StepContext, StepOutcome, StoreView } from '../../engine/types.ts';
import { serviceSpec } from '../../providers/ovh-mail.ts';
import { type SetupFacts, serviceOf } from '../setup/facts.ts';

/**
 * A setup started by **Set up all** (`params.group`), as a member of its group: where it would post its own approval
 * card it waits for the group's (`awaiting_group`); the group's approval naming its key lets it go on to its enable,
 * which reads the key at OVH first, as every enable does; one no longer ready waits, and enables under the same
 * approval when it is ready again with the record the card showed.
 */

/** What a member asks of the group's card: the key it would enable (Exchange, Email Pro) or the switch (MX Plan). */
export interface GroupAsk {
  runId: number;
  domain: string;
  service: string;
  selector?: string;
  target?: string;
}

/** A member waiting for the group looks at it again this often (the group's decision wakes it at once). */
export const MEMBER_LOOK_MS = 60 * 60_000;

/** Whether a card names the member with this very key. */
export function inCard(approval: Approval, ask: Omit<GroupAsk, 'domain' | 'service'>): boolean {
  const asks = (approval.snapshot as { members?: GroupAsk[] }).members ?? [];
  return asks.some((a) => a.runId === ask.runId && a.selector === ask.selector && a.target === ask.target);
}

/** What a member waiting for the group asks (written by the member when it became ready). */
export function askOf(member: Run): GroupAsk {
  const facts = member.facts as SetupFacts & { groupAsk?: { selector?: string; target?: string } };
  const at = serviceOf(facts);
  return {
    runId: member.id,
    domain: member.domain,
    service: at ? serviceSpec(at) : 'unknown',
    ...(facts.groupAsk?.selector ? { selector: facts.groupAsk.selector } : {}),
    ...(facts.groupAsk?.target ? { target: facts.groupAsk.target } : {}),
  };
}

/** Whether a setup is a member of a group (started by **Set up all**). */
export function inGroup(run: Run): boolean {
  return typeof (run.params as { group?: unknown }).group === 'number';
}

/**
 * A member whose key is ready (or whose switch may be turned on): with the group's approval for this very key, on to
 * the enable; otherwise it waits for the group, whose card will name it.
 */
export function memberReady(
  run: Run,
  facts: SetupFacts,
  ask: { selector?: string; target?: string },
  ctx: StepContext,
  afterApproval: RunState,
): StepOutcome {
  const approval = approvalFor(run, ctx.view, ask);
  if (approval) {
    const text = `Ready again: enabling under the group's approval (by ${mention(approval.decidedBy ?? '?')}).`;
    return {
      state: afterApproval,
      facts: { ...facts, approvedBy: approval.decidedBy ?? undefined, approvedAt: undefined },
      next: 'now',
      freshDeadline: true,
      notices: [{ type: 'reply', text }],
    };
  }
  return {
    state: 'awaiting_group',
    facts: {
      ...facts,
      groupAsk: ask,
      groupAskedAt: ctx.now,
      lastObservation: "Ready: waiting for the group's approval.",
    },
    next: 'wait',
    wakeAt: ctx.now + MEMBER_LOOK_MS,
  };
}

/**
 * A member waiting for its group: the group's approval that names it (with the key it asked for) lets it go on to its
 * enable; a rejection, or a group that ended without one, ends it.
 */
export function followGroup(run: Run, view: StoreView, now: number, afterApproval: RunState): StepOutcome {
  const facts = run.facts as SetupFacts;
  const groupId = (run.params as { group?: number }).group!;
  const group = view.run(groupId);
  const ask = askOf(run);
  const decided = view
    .approvals(groupId)
    .filter((a) => inCard(a, ask) && (a.status === 'approved' || a.status === 'rejected'));
  const approval = decided.at(-1);
  if (approval?.status === 'approved') {
    return {
      state: afterApproval,
      facts: {
        ...facts,
        approvedBy: approval.decidedBy ?? undefined,
        approvedAt: undefined,
        groupApproval: approval.id,
      },
      next: 'now',
      freshDeadline: true,
      notices: [
        { type: 'reply', text: `Approved with the group (run #${groupId}) by ${mention(approval.decidedBy ?? '?')}.` },
      ],
    };
  }
  if (approval?.status === 'rejected' || !group || isFinished(group.state)) {
    const state = approval?.status === 'rejected' || group?.state === 'rejected' ? 'rejected' : 'cancelled';
    const text = `The group (run #${groupId}) ended (${group?.state ?? 'gone'}) without enabling ${showRun({ domain: run.domain })}.`;
    return { state, facts, next: 'none', notices: [{ type: 'reply', text }] };
  }
  return { state: run.state, facts, next: 'wait', wakeAt: now + MEMBER_LOOK_MS };
}

/** The group approval a member already has for this key (it was not ready at its enable, and waited). */
function approvalFor(run: Run, view: StoreView | undefined, ask: { selector?: string; target?: string }) {
  const groupId = (run.params as { group?: number }).group;
  const approvalId = (run.facts as { groupApproval?: number }).groupApproval;
  if (!groupId || !approvalId || !view) return undefined;
  const approval = view.approvals(groupId).find((a) => a.id === approvalId);
  return approval?.status === 'approved' && inCard(approval, { runId: run.id, ...ask }) ? approval : undefined;
}
