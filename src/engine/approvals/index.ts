import type { Clock } from '../../clock.ts';
import { actorId } from '../../domain/actors.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Approval, Run, RunKind, RunState } from '../../domain/runs.ts';
import { person, type Text, words } from '../../domain/text.ts';
import { errorMessage } from '../../providers/errors.ts';
import type { Store } from '../../store/index.ts';
import { unchanged } from '../../store/runs.ts';
import type { ApproverPolicy } from '../access.ts';
import { dropPrivateParams, endFollowing } from '../ending.ts';
import { need } from '../invariant.ts';
import type { Journal } from '../journal.ts';
import { auditCalls, type OutsideCall } from '../recording.ts';
import { summarize } from '../summary.ts';
import type { ApprovalRequest, StepContext, StepOutcome, StoreView, Workflow } from '../types.ts';
import { ownGrant } from './grants.ts';

export type ActionResult = { ok: boolean; message: Text; run?: Run };

/** What approvals need of the engine that steps the runs. */
export interface ApprovalDeps {
  store: Store;
  clock: Clock;
  journal: Journal;
  policy: ApproverPolicy;
  approvalTtlMs: number;
  waitDeadlineMs: number;
  workflow(kind: RunKind): Workflow;
  /** Step the run in the background (after an approval or a refused stale card). */
  kick(runId: number): void;
  /** Track background work so that the engine's `idle()` waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** A step context whose OVH calls are recorded into `calls`. */
  context(calls: OutsideCall[]): StepContext;
  /** What the workflows may read of the bot's records. */
  view: StoreView;
}

/**
 * Approvals, for every kind of run (DESIGN §3): a card is a row; Approve is a compare-and-set (`pending` →
 * `approved`) by an allowed user, after a re-check of what the card showed; a card expires, and a fresh one
 * supersedes the last.
 */
export class Approvals {
  constructor(private readonly d: ApprovalDeps) {}

  /** Inside a step's transaction: closes any pending card, opens a new one, and returns the card (and its file) to post. */
  open(run: Run, request: ApprovalRequest, now: number): Notice[] {
    const { store } = this.d;
    store.approvals.closePending(run.id, 'superseded', 'a fresh card was posted', now);
    const approval = store.approvals.create(
      {
        runId: run.id,
        action: request.action,
        snapshot: request.snapshot,
        requestedBy: run.requestedBy,
        expiresAt: now + this.d.approvalTtlMs,
      },
      now,
    );
    store.events.add(run.id, 'bot', 'approval_requested', { approvalId: approval.id, ...request.snapshot }, now);
    const card: Notice = {
      type: 'approval_request',
      approvalId: approval.id,
      title: request.title,
      lines: request.lines,
      approvers: [...this.d.policy.approvers],
      selfApproval: this.d.policy.allowsSelfApproval,
      expiresAt: approval.expiresAt,
      ...(request.preview ? { preview: request.preview } : {}),
    };
    return request.file ? [card, { type: 'file', ...request.file }] : [card];
  }

  /** When a run waiting for a decision should be looked at again: its card's expiry. */
  nextLook(runId: number): number | null {
    const approval = this.d.store.approvals.latestForRun(runId);
    return approval?.status === 'pending' ? approval.expiresAt : null;
  }

  /**
   * A run waiting for a decision is only looked at when its card expires. An expired card ends the runs it stood for
   * that still wait for it (a group's members: `expired`, so their domains are free again); the run itself goes where
   * its workflow says (a group gathers on), or waits for `/dkim retry`.
   */
  waiting(run: Run, now: number): StepOutcome {
    const approval = this.d.store.approvals.latestForRun(run.id);
    if (approval?.status === 'pending' && approval.expiresAt > now) {
      return { state: run.state, facts: run.facts, next: 'none' };
    }
    const workflow = this.d.workflow(run.kind);
    const ending = approval?.status === 'pending' ? (workflow.endsWith?.(run, 'expired', this.d.view, now) ?? []) : [];
    const state = workflow.afterExpiry?.(run) ?? run.state;
    const decided: Notice[] = approval
      ? [{ type: 'approval_decided', approvalId: approval.id, decision: 'expired', at: now }]
      : [];
    const note = approval
      ? (workflow.expiryNote?.(
          run,
          ending.map((id) => this.d.view.run(id)).filter((r) => r !== undefined),
        ) ?? 'The approval card expired. `/dkim retry` posts a fresh one.')
      : undefined;
    return {
      expirePending: approval?.status === 'pending',
      end: { runs: ending, as: 'expired' },
      state,
      facts: run.facts,
      next: state === run.state ? 'none' : 'now',
      notices: note ? [...decided, { type: 'reply', text: note }] : decided,
    };
  }

  /** Approve or reject. Tracked, so that the engine's `idle()` also waits for decisions in progress. */
  decide(approvalId: number, userId: string, decision: 'approved' | 'rejected'): Promise<ActionResult> {
    return this.d.track(this.decideNow(approvalId, userId, decision));
  }

  private async decideNow(
    approvalId: number,
    userId: string,
    decision: 'approved' | 'rejected',
  ): Promise<ActionResult> {
    const { store, clock } = this.d;
    const approval = store.approvals.get(approvalId);
    if (!approval) return { ok: false, message: `There is no approval #${approvalId}.` };
    const run = need(store.runs.get(approval.runId), `the run of approval #${approvalId}`);
    const closed = closedReason(approval, clock.now());
    if (closed) return { ok: false, message: closed, run };
    const refusal = await this.d.policy.refusal(actorId(userId), actorId(approval.requestedBy));
    if (refusal) {
      store.events.add(run.id, userId, 'decision_refused', { approvalId, decision, reason: refusal }, clock.now());
      return { ok: false, message: refusal, run };
    }
    const workflow = this.d.workflow(run.kind);
    if (decision === 'approved') {
      const stale = await this.recheck(workflow, run, approval);
      if (stale) return this.supersede(run, approval, userId, stale);
    }
    const now = clock.now();
    const outcome = store.durableTransaction(() => {
      if (!store.approvals.decide(approval.id, decision, userId, now)) return undefined;
      const current = need(store.runs.get(run.id), `run #${run.id}`);
      const state: RunState = decision === 'approved' ? workflow.afterApproval(current) : 'rejected';
      const moved = store.runs.update(
        current.id,
        current.version,
        {
          state,
          facts: { ...current.facts, grant: decision === 'approved' ? ownGrant(approval, userId, now) : undefined },
          nextCheckAt: decision === 'approved' ? now : null,
          deadlineAt: now + this.d.waitDeadlineMs,
          lastError: null,
          waitStreak: 0,
        },
        now,
      );
      if (!moved) throw new Error('the run moved while the decision was written');
      const updated = need(store.runs.get(run.id), `run #${run.id}`);
      if (decision === 'rejected') {
        endFollowing(store, workflow, updated, 'rejected', userId, now);
        dropPrivateParams(store, workflow, updated);
      }
      store.runs.wake(workflow.followers?.(updated) ?? [], now);
      store.events.add(run.id, userId, decision, { approvalId, ...approval.snapshot }, now);
      this.d.journal.say(
        updated,
        [
          { type: 'approval_decided', approvalId, decision, by: userId, at: now },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `decision-${approvalId}`,
        now,
      );
      return updated;
    });
    if (!outcome) {
      const latest = need(store.approvals.get(approvalId), `approval #${approvalId}`);
      return { ok: false, message: closedReason(latest, now) ?? 'This approval was already used.', run };
    }
    if (decision === 'approved') this.d.kick(run.id);
    const verb = decision === 'approved' ? 'Approved' : 'Rejected';
    return { ok: true, message: words`${verb} by ${person(userId)}.`, run: outcome };
  }

  private async recheck(workflow: Workflow, run: Run, approval: Approval): Promise<string | undefined> {
    const calls: OutsideCall[] = [];
    const now = this.d.clock.now();
    try {
      return await workflow.recheckApproval(run, approval, this.d.context(calls));
    } catch (error) {
      return `Could not re-check before acting: ${errorMessage(error)}`;
    } finally {
      auditCalls(this.d.store.events, run.id, calls, now);
    }
  }

  /** The card no longer matches what is true: close it, say why, and look at the run again. */
  private supersede(run: Run, approval: Approval, userId: string, reason: string): ActionResult {
    const { store, clock } = this.d;
    const now = clock.now();
    const workflow = this.d.workflow(run.kind);
    store.transaction(() => {
      const current = need(store.runs.get(run.id), `run #${run.id}`);
      if (store.approvals.get(approval.id)?.status !== 'pending' || current.state !== 'awaiting_approval') return;
      store.approvals.closePending(run.id, 'superseded', reason, now);
      const facts = workflow.freshLook?.(current.facts) ?? current.facts;
      store.runs.update(
        current.id,
        current.version,
        { ...unchanged(current), facts, state: workflow.beforeApproval(current), nextCheckAt: now, waitStreak: 0 },
        now,
      );
      store.events.add(run.id, userId, 'approval_refused_stale', { approvalId: approval.id, reason }, now);
      this.d.journal.say(
        need(store.runs.get(run.id), `run #${run.id}`),
        [{ type: 'reply', level: 'warning', text: `Approval refused: ${reason} Looking again.` }],
        `stale-${approval.id}`,
        now,
      );
    });
    this.d.kick(run.id);
    return { ok: false, message: `Refused: ${reason}`, run };
  }
}

function closedReason(approval: Approval, now: number): Text | undefined {
  switch (approval.status) {
    case 'approved':
      return words`Already approved by ${person(approval.decidedBy ?? '?')}.`;
    case 'rejected':
      return words`Already rejected by ${person(approval.decidedBy ?? '?')}.`;
    case 'expired':
      return 'This approval card expired. `/dkim retry` posts a fresh one.';
    case 'superseded':
      return `This card is no longer valid (${approval.reason ?? 'superseded'}).`;
    case 'pending':
      return approval.expiresAt <= now ? 'This approval card expired. `/dkim retry` posts a fresh one.' : undefined;
  }
}
