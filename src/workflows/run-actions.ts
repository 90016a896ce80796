import type { Clock } from '../clock.ts';
import { isFinished, type Run, type RunKind, type RunState } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import type { ActionResult } from './approvals.ts';
import { describeState, show, summarize } from './describe.ts';
import type { Journal } from './journal.ts';
import type { Workflow } from './types.ts';

export interface RunActionDeps {
  store: Store;
  clock: Clock;
  journal: Journal;
  waitDeadlineMs: number;
  workflow(kind: RunKind): Workflow;
  kick(runId: number): void;
}

/** What an operator does to a run besides approving: cancel it, or try again. */
export class RunActions {
  constructor(private readonly d: RunActionDeps) {}

  cancel(kindOrAny: RunKind | undefined, domain: string, userId: string): ActionResult {
    const { store, clock } = this.d;
    const now = clock.now();
    const run = this.activeRun(domain, kindOrAny);
    if (!run) return { ok: false, message: `There is no active run for ${show(domain)}.` };
    const cancelled = store.transaction(() => {
      const current = store.runs.get(run.id)!;
      if (isFinished(current.state)) return false;
      store.approvals.closePending(run.id, 'superseded', 'run cancelled', now);
      store.runs.update(
        run.id,
        current.version,
        { ...unchanged(current), state: 'cancelled', nextCheckAt: null, lastError: null },
        now,
      );
      store.events.add(run.id, userId, 'cancelled', {}, now);
      const updated = store.runs.get(run.id)!;
      this.d.journal.say(
        updated,
        [
          { type: 'reply', text: `Cancelled by <@${userId}>. Nothing more will be done for this run.` },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `cancel-${current.version}`,
        now,
      );
      return true;
    });
    if (!cancelled) return { ok: false, message: `The run for ${show(domain)} had already finished.` };
    return { ok: true, message: `Cancelled the ${run.kind} run for ${show(domain)}.`, run: store.runs.get(run.id) };
  }

  retry(kindOrAny: RunKind | undefined, domain: string, userId: string): ActionResult {
    const { store, clock } = this.d;
    const now = clock.now();
    const run = store.runs.latestForDomain(domain, kindOrAny);
    if (!run) return { ok: false, message: `There is no run for ${show(domain)}. Start one with \`/dkim setup\`.` };
    const workflow = this.d.workflow(run.kind);
    const target = retryTarget(run, workflow);
    if (typeof target !== 'string') return { ok: false, message: target.refusal, run };
    const written = store.transaction(() => {
      store.approvals.closePending(run.id, 'superseded', 'retried', now);
      const resumed = { ...run.facts, resumeState: undefined, failedIn: undefined };
      const facts = target === workflow.beforeApproval ? (workflow.freshLook?.(resumed) ?? resumed) : resumed;
      const moved = store.runs.update(
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
      if (!moved) return false;
      store.events.add(run.id, userId, 'retried', { from: run.state, to: target }, now);
      const updated = store.runs.get(run.id)!;
      this.d.journal.say(
        updated,
        [
          { type: 'reply', text: `<@${userId}> asked to try again: ${describeState(target)}.` },
          { type: 'parent_update', summary: summarize(updated) },
        ],
        `retry-${run.version}`,
        now,
      );
      return true;
    });
    if (!written) return { ok: false, message: 'The run changed meanwhile; try again.', run };
    this.d.kick(run.id);
    return { ok: true, message: `Retrying the ${run.kind} run for ${show(domain)}.`, run: store.runs.get(run.id) };
  }

  activeRun(domain: string, kind?: RunKind): Run | undefined {
    if (kind) return this.d.store.runs.active(kind, domain);
    const latest = this.d.store.runs.latestForDomain(domain);
    return latest && !isFinished(latest.state) ? latest : undefined;
  }
}

function retryTarget(run: Run, workflow: Workflow): RunState | { refusal: string } {
  const facts = run.facts as { resumeState?: RunState; failedIn?: RunState };
  switch (run.state) {
    case 'stalled':
      return facts.resumeState ?? workflow.firstState;
    case 'failed':
      return facts.failedIn ?? workflow.firstState;
    case 'awaiting_approval':
      return workflow.beforeApproval;
    case 'needs_attention':
      return {
        refusal:
          'This run needs a person: the bot does not know whether its last action reached the provider, and will not repeat it by itself. Check, then `/dkim cancel` it.',
      };
    case 'done':
    case 'cancelled':
    case 'rejected':
      return { refusal: `The last run for ${show(run.domain)} is ${run.state}; start a new one instead.` };
    default:
      return run.state;
  }
}
