import type { Clock } from '../clock.ts';
import { actorId } from '../domain/actors.ts';
import { showRun } from '../domain/names.ts';
import { describeState, isFinished, type Run, type RunKind, type RunState } from '../domain/runs.ts';
import { person, words } from '../domain/text.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import type { ApproverPolicy } from './access.ts';
import type { ActionResult } from './approvals/index.ts';
import { dropPrivateParams, endFollowing } from './ending.ts';
import { need } from './invariant.ts';
import type { Journal } from './journal.ts';
import { forgetCalls } from './once.ts';
import { busyText, limitText, type Starts } from './starts.ts';
import { summarize } from './summary.ts';
import type { Workflow } from './types.ts';

export interface RunActionDeps {
  store: Store;
  clock: Clock;
  journal: Journal;
  policy: ApproverPolicy;
  waitDeadlineMs: number;
  workflow(kind: RunKind): Workflow;
  kick(runId: number): void;
  /** A step of the run is under way (here or in another live process). */
  busy(runId: number): boolean;
  /** The rules a start obeys, which a retry obeys too. */
  starts: Starts;
}

/**
 * What a person does to a run besides approving: cancel it, or try again. Both belong to the run's requester and
 * the approvers. A retry never crosses an approval: a run that failed after its approval goes back to before it.
 */
export class RunActions {
  constructor(private readonly d: RunActionDeps) {}

  async cancel(run: Run, userId: string): Promise<ActionResult> {
    const { store, clock } = this.d;
    const refusal =
      (await this.d.policy.actRefusal(actorId(userId), actorId(run.requestedBy), 'cancel')) ??
      this.d.workflow(run.kind).cancelRefusal?.(run);
    if (refusal) return { ok: false, message: words`Not cancelled: ${refusal}`, run };
    const now = clock.now();
    const cancelled = store.transaction(() => {
      const current = need(store.runs.get(run.id), `run #${run.id}`);
      if (!cancellable(current, this.d.workflow(run.kind))) return 'finished';
      const late = this.d.workflow(run.kind).cancelRefusal?.(current);
      if (late) return late;
      const note = this.d.workflow(run.kind).cancelNote?.(current);
      store.approvals.closePending(run.id, 'superseded', 'run cancelled', now);
      store.runs.update(
        run.id,
        current.version,
        { ...unchanged(current), state: 'cancelled', nextCheckAt: null, lastError: null },
        now,
      );
      store.events.add(run.id, userId, 'cancelled', {}, now);
      const ended = endFollowing(store, this.d.workflow(run.kind), current, 'cancelled', userId, now);
      dropPrivateParams(store, this.d.workflow(run.kind), current);
      store.runs.wake(this.d.workflow(run.kind).followers?.(current) ?? [], now);
      const updated = need(store.runs.get(run.id), `run #${run.id}`);
      const endedNote = ended ? ` ${ended} unfinished ${ended === 1 ? 'setup ends' : 'setups end'} with it.` : '';
      this.d.journal.say(
        updated,
        [
          {
            type: 'reply',
            text: words`Cancelled by ${person(userId)}. Nothing more will be done for this run.${note ? ` ${note}` : ''}${endedNote}`,
          },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `cancel-${current.version}`,
        now,
      );
      return 'cancelled';
    });
    if (cancelled === 'finished')
      return { ok: false, message: `The run for ${showRun({ domain: run.domain })} had already finished.` };
    if (cancelled !== 'cancelled') return { ok: false, message: `Not cancelled: ${cancelled}`, run };
    return {
      ok: true,
      message: `Cancelled the ${run.kind} run for ${showRun({ domain: run.domain })}.`,
      run: store.runs.get(run.id),
    };
  }

  /** The answer to a question the run asked (which service, …): its requester or an approver gives it. */
  async answer(run: Run, key: string, value: string, userId: string): Promise<ActionResult> {
    const { store, clock } = this.d;
    const refusal = await this.d.policy.actRefusal(actorId(userId), actorId(run.requestedBy), 'answer for');
    if (refusal) return { ok: false, message: words`Not taken: ${refusal}`, run };
    const now = clock.now();
    const written = store.transaction(() => {
      const current = need(store.runs.get(run.id), `run #${run.id}`);
      const next = this.d.workflow(run.kind).answer?.(current, key, value) ?? { refusal: 'This run asked nothing.' };
      if ('refusal' in next) return next.refusal;
      store.runs.update(
        run.id,
        current.version,
        {
          ...unchanged(current),
          state: next.state,
          facts: next.facts,
          nextCheckAt: now,
          lastError: null,
          waitStreak: 0,
        },
        now,
      );
      store.events.add(run.id, userId, 'answered', { key, value }, now);
      const updated = need(store.runs.get(run.id), `run #${run.id}`);
      this.d.journal.say(
        updated,
        [
          { type: 'choice_made', key, chosen: value, by: userId, at: now },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `answer-${key}`,
        now,
      );
      return undefined;
    });
    if (written) return { ok: false, message: written, run };
    this.d.kick(run.id);
    return { ok: true, message: `Going on with ${value}.`, run: store.runs.get(run.id) };
  }

  /**
   * Tries a run again where it stopped, never past an approval it would reuse, by the rules a start obeys (who may
   * start, the per-user cap, one key-changing run per domain; the last two in the same transaction as a start). A
   * member of a group that is over goes on alone, in its group's channel: nothing of the group covers it any more.
   */
  async retry(run: Run, userId: string): Promise<ActionResult> {
    const { store, clock } = this.d;
    const refusal =
      (await this.d.policy.actRefusal(actorId(userId), actorId(run.requestedBy), 'retry')) ??
      (await this.d.policy.startRefusal(actorId(userId), run.kind));
    if (refusal) return { ok: false, message: words`Not retried: ${refusal}`, run };
    if (this.d.busy(run.id)) {
      return { ok: false, message: 'The bot is working on this run right now; try again in a moment.', run };
    }
    const workflow = this.d.workflow(run.kind);
    const refused = workflow.retryRefusal?.(run);
    if (refused) return { ok: false, message: `Not retried: ${refused}`, run };
    const target = retryTarget(run, workflow);
    if (typeof target !== 'string') return { ok: false, message: target.refusal, run };
    const now = clock.now();
    const written = store.transaction((): string | undefined => {
      const current = store.runs.get(run.id);
      if (current?.version !== run.version) return 'The run changed meanwhile; try again.';
      const admitted = this.d.starts.readmits(current);
      if ('limit' in admitted) return `Not retried: ${limitText(admitted.limit)}`;
      if ('existing' in admitted) return `Not retried: ${busyText(admitted.existing)}`;
      store.approvals.closePending(run.id, 'superseded', 'retried', now);
      const facts = retriedFacts(run, target, workflow);
      store.runs.update(
        run.id,
        run.version,
        {
          ...unchanged(run),
          state: target,
          facts,
          nextCheckAt: now,
          deadlineAt: now + this.d.waitDeadlineMs,
          lastError: null,
          waitStreak: 0,
        },
        now,
      );
      this.detachFromEndedGroup(run);
      store.events.add(run.id, userId, 'retried', { from: run.state, to: target }, now);
      const updated = need(store.runs.get(run.id), 'the retried run');
      this.d.journal.say(
        updated,
        [
          { type: 'reply', text: words`${person(userId)} asked to try again: ${describeState(target)}.` },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `retry-${run.version}`,
        now,
      );
      return undefined;
    });
    if (written) return { ok: false, message: written, run };
    this.d.kick(run.id);
    return {
      ok: true,
      message: `Retrying the ${run.kind} run for ${showRun({ domain: run.domain })}.`,
      run: store.runs.get(run.id),
    };
  }

  /**
   * A member whose group is over has nobody to speak for it nor a card to wait for: it goes on as a run of its own,
   * with a thread in its group's channel (what it said before was said in the group's thread).
   */
  private detachFromEndedGroup(run: Run): void {
    const groupId = (run.params as { group?: unknown }).group;
    if (typeof groupId !== 'number') return;
    const group = this.d.store.runs.get(groupId);
    if (group && !isFinished(group.state)) return;
    const { group: _left, ...params } = run.params as { group?: number };
    this.d.store.runs.detach(run.id, params, group?.channelId ?? null);
    this.d.store.outbox.dropUndeliverable(run.id);
  }
}

/**
 * Whether a person may still cancel the run: while it is active, and once failed while it keeps private data for a
 * retry (an order's transfer code): cancelling drops it.
 */
export function cancellable(run: Run, workflow: Workflow): boolean {
  return !isFinished(run.state) || (run.state === 'failed' && workflow.auditParams !== undefined);
}

/**
 * The facts a retry goes on with: short of an approval, the run holds none (its grant and the calls made under it are
 * forgotten, and a member asks its group anew); back where a fresh card is posted, a fresh look too.
 */
function retriedFacts(run: Run, target: RunState, workflow: Workflow): Record<string, unknown> {
  const resumed = { ...run.facts, resumeState: undefined, failedIn: undefined };
  if (workflow.approvedStates.includes(target)) return resumed;
  const unapproved = forgetCalls({ ...resumed, grant: undefined, groupAsk: undefined, groupAskedAt: undefined });
  return target === workflow.beforeApproval(run) ? (workflow.freshLook?.(unapproved) ?? unapproved) : unapproved;
}

/** Where a retry resumes: the step that failed or stalled, but never past an approval it would reuse. */
function retryTarget(run: Run, workflow: Workflow): RunState | { refusal: string } {
  const facts = run.facts as { resumeState?: RunState; failedIn?: RunState };
  const beforeApproval = (state: RunState) =>
    workflow.approvedStates.includes(state) && !workflow.pastApproval?.(run) ? workflow.beforeApproval(run) : state;
  switch (run.state) {
    case 'stalled':
      return beforeApproval(facts.resumeState ?? workflow.firstState);
    case 'failed':
      return beforeApproval(facts.failedIn ?? workflow.firstState);
    case 'awaiting_approval':
      return workflow.beforeApproval(run);
    case 'needs_attention':
      // Parked by a bug: that step again (short of an approval). An order that may have gone out: a fresh card.
      return facts.failedIn ? beforeApproval(facts.failedIn) : workflow.beforeApproval(run);
    case 'done':
    case 'cancelled':
    case 'rejected':
    case 'expired':
      return {
        refusal: `The last run for ${showRun({ domain: run.domain })} is ${run.state}; start a new one instead.`,
      };
    default:
      return beforeApproval(run.state);
  }
}
