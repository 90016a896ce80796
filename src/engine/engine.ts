import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Notice } from '../domain/notices.ts';
import { describeState, isFinished, type Run, type RunKind, type RunState } from '../domain/runs.ts';
import type { Logger } from '../log.ts';
import { errorMessage, isTransient, ProviderError } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import type { ApproverPolicy } from './access.ts';
import { RunActions } from './actions.ts';
import { Approvals } from './approvals.ts';
import { Journal } from './journal.ts';
import { failed } from './outcomes.ts';
import { auditCalls, describeChanges, type OutsideCall, recorded } from './recording.ts';
import { type GroupStartResult, type StartInput, type StartResult, Starts } from './starts.ts';
import { storeView } from './store-view.ts';
import { summarize } from './summary.ts';
import type { StepContext, StepOutcome, StoreView, Workflow } from './types.ts';

export type { StartResult } from './starts.ts';

export interface EngineOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  workflows: Workflow[];
  approvers: ApproverPolicy;
  /** Providers for the steps; `ovh` is wrapped per step so every call lands in the audit trail. */
  providers: Omit<StepContext, 'now' | 'timing' | 'checkpoint'>;
  approvalTtlMs: number;
  waitDeadlineMs: number;
  /** The first wait between two looks at a waiting run (one poller tick). */
  firstRecheckMs: number;
  recheckMaxMs: number;
  /** Runs stepped at once by one tick. */
  concurrency?: number;
  /** Active runs one requester may have at once. */
  maxActiveRunsPerUser?: number;
  /** How work started by a command waits for its turn (the Slack face holds it until the acks are out). */
  defer?: (work: () => void) => void;
  leaseMs?: number;
  owner?: string;
}

const MAX_STEPS_PER_PASS = 30;

/**
 * Loads a run, lets its workflow do the one next thing, and persists the outcome, its audit events and its messages
 * in one transaction. Runs are started here; approvals and an operator's cancel and retry have modules of their own
 * (`approvals`, `actions`), built on the same store, journal and background work.
 */
export class Engine {
  readonly approvals: Approvals;
  readonly actions: RunActions;
  private readonly starts: Starts;
  /** What is said about runs (the watch writes into the threads of finished runs through it too). */
  readonly journal: Journal;
  private readonly workflows: Map<RunKind, Workflow>;
  private readonly owner: string;
  private readonly inFlight = new Set<number>();
  private readonly kicked = new Set<Promise<unknown>>();
  private stopping = false;

  private readonly view: StoreView;
  constructor(private readonly o: EngineOptions) {
    this.workflows = new Map(o.workflows.map((w) => [w.kind, w]));
    this.owner = o.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.journal = new Journal(o.store);
    this.view = storeView(o.store);
    const shared = {
      store: o.store,
      clock: o.clock,
      journal: this.journal,
      waitDeadlineMs: o.waitDeadlineMs,
      workflow: (kind: RunKind) => this.workflow(kind),
      kick: (runId: number) => this.kick(runId),
    };
    this.approvals = new Approvals({
      ...shared,
      policy: o.approvers,
      approvalTtlMs: o.approvalTtlMs,
      track: (work) => this.track(work),
      context: (calls) => this.context(calls),
    });
    this.actions = new RunActions({ ...shared, policy: o.approvers, busy: (runId) => this.busy(runId) });
    this.starts = new Starts({ ...shared, maxActiveRunsPerUser: o.maxActiveRunsPerUser });
  }

  private get timing() {
    return { firstRecheckMs: this.o.firstRecheckMs, recheckMaxMs: this.o.recheckMaxMs };
  }

  get store(): Store {
    return this.o.store;
  }

  start(input: StartInput): StartResult {
    const result = this.starts.start(input);
    if (result.ok) this.kick(result.run.id);
    return result;
  }

  /** A group and its members (Set up all): the group is stepped now, its members by the next ticks. */
  startGroup(group: StartInput, members: StartInput[]): GroupStartResult {
    const result = this.starts.startGroup(group, members);
    if (result.ok) this.kick(result.run.id);
    return result;
  }

  /** Steps every due run (or every active one), a few at a time. Returns the number of runs looked at. */
  async tick(options: { all?: boolean } = {}): Promise<number> {
    const now = this.o.clock.now();
    const ids = options.all
      ? this.o.store.runs.listActive(10_000).map((r) => r.id)
      : this.o.store.runs.due(now, 10_000);
    const queue: number[] = [];
    for (const id of ids) {
      if (this.inFlight.has(id)) continue;
      // A long run (a scan) goes on in the background: the tick, and the runs due after it, do not wait for it.
      const kind = this.o.store.runs.get(id)?.kind;
      if (kind && this.workflow(kind).background) this.kick(id);
      else queue.push(id);
    }
    const workers = Array.from({ length: Math.min(this.o.concurrency ?? 8, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.advance(id, options.all);
    });
    await Promise.all(workers);
    return ids.length;
  }

  /** Steps one run until it waits, under a lease so that two instances never step it at once. */
  async advance(runId: number, force = false): Promise<void> {
    if (this.inFlight.has(runId)) return;
    const { store, clock } = this.o;
    const leaseMs = this.o.leaseMs ?? 5 * 60_000;
    if (!this.claim(runId, clock.now() + leaseMs)) return;
    this.inFlight.add(runId);
    try {
      for (let i = 0; i < MAX_STEPS_PER_PASS && !this.stopping; i++) {
        const run = store.runs.get(runId);
        if (!run || isFinished(run.state)) return;
        const due = run.nextCheckAt !== null && run.nextCheckAt <= clock.now();
        if (!due && !(force && i === 0)) return;
        // Renewed before each step: a pass of many long steps (a scan) must not outlive its lease.
        if (i > 0 && !store.runs.claim(runId, this.owner, clock.now(), clock.now() + leaseMs)) return;
        const again = await this.stepOnce(run);
        if (!again) return;
      }
    } catch (error) {
      this.o.log.error('step crashed', { runId, error: errorMessage(error) });
    } finally {
      this.inFlight.delete(runId);
      store.runs.release(runId, this.owner);
    }
  }

  /**
   * A lease held by a process of this host that no longer exists (killed, crashed) is taken over at once instead of
   * waiting for it to expire; holders on other hosts are waited for.
   */
  private claim(runId: number, until: number): boolean {
    const { runs } = this.o.store;
    if (runs.claim(runId, this.owner, this.o.clock.now(), until)) return true;
    const holder = runs.leaseOwner(runId);
    if (!holder || !holderIsDead(holder)) return false;
    this.o.log.warn('taking over the lease of a dead process', { runId, holder });
    return runs.takeOver(runId, holder, this.owner, until);
  }

  /** A step of the run is under way: here, or under a live lease of another process that is not dead. */
  private busy(runId: number): boolean {
    if (this.inFlight.has(runId)) return true;
    const { runs } = this.o.store;
    const holder = runs.leaseOwner(runId);
    return runs.leased(runId, this.o.clock.now()) && !(holder && holderIsDead(holder));
  }

  /** Before a change at OVH: renew this instance's lease, or stop if another instance took the run meanwhile. */
  private holdLease(runId: number): void {
    const now = this.o.clock.now();
    if (!this.o.store.runs.claim(runId, this.owner, now, now + (this.o.leaseMs ?? 5 * 60_000))) {
      throw new ProviderError('ovh', 'transient', 'Another instance took over this run; this one stepped back.');
    }
  }

  /** Starts stepping a run in the background (after a command or an approval); `idle()` waits for it. */
  kick(runId: number): void {
    // Deferred: a Slack listener that started this acks before any outside call is made.
    const defer = this.o.defer ?? setImmediate;
    const work = new Promise<void>((resolve) => defer(() => resolve())).then(() => this.advance(runId));
    void this.track(work).catch((error) => this.o.log.error('background step failed', { runId, error }));
  }

  /** Background work that `idle()` waits for. */
  private track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.kicked.delete(tracked));
    this.kicked.add(tracked);
    return tracked;
  }

  /** Called (after the writing transaction) whenever messages were written to the outbox. */
  onOutbox(listener: () => void): void {
    this.journal.onOutbox(listener);
  }

  /** What a step may use, its outside calls recorded into `calls`; `beforeChange` runs before each change at OVH. */
  private context(calls: OutsideCall[], beforeChange?: () => void): StepContext {
    return {
      ...this.o.providers,
      now: this.o.clock.now(),
      timing: this.timing,
      view: this.view,
      ...recorded(this.o.providers, calls, beforeChange),
    };
  }

  /** Graceful shutdown: no new step starts; the steps under way finish (what they did is persisted). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  async idle(): Promise<void> {
    while (this.kicked.size > 0) await Promise.all([...this.kicked]);
  }

  private async stepOnce(run: Run): Promise<boolean> {
    const workflow = this.workflow(run.kind);
    const now = this.o.clock.now();
    const calls: OutsideCall[] = [];
    let current = run;
    let outcome: StepOutcome;
    if (run.state === 'awaiting_approval') {
      outcome = this.approvals.waiting(run, now);
    } else if (run.deadlineAt !== null && now >= run.deadlineAt && workflow.waitingStates.includes(run.state)) {
      outcome = stalled(run);
    } else {
      const ctx: StepContext = {
        ...this.context(calls, () => this.holdLease(run.id)),
        checkpoint: (state, facts) => {
          current = this.checkpoint(current, state, facts);
        },
      };
      try {
        outcome = await workflow.step(run, ctx);
      } catch (error) {
        outcome = this.failureOutcome(current, error);
      }
    }
    return this.commit(current, outcome, calls);
  }

  /** Written durably (synchronous=FULL): it stands before an action that must happen at most once. */
  private checkpoint(run: Run, state: RunState, facts: Record<string, unknown>): Run {
    const { store, clock } = this.o;
    const now = clock.now();
    return store.durableTransaction(() => {
      const change = { ...unchanged(run), state, facts, lastError: null, nextCheckAt: now };
      if (!store.runs.update(run.id, run.version, change, now)) throw new RunMoved();
      if (state !== run.state) store.events.add(run.id, 'bot', 'state', { from: run.state, to: state }, now);
      const updated = store.runs.get(run.id)!;
      if (state !== run.state) {
        this.journal.say(updated, [{ type: 'parent_update', summary: summarize(updated) }], `v${updated.version}`, now);
      }
      return updated;
    });
  }

  private failureOutcome(run: Run, error: unknown): StepOutcome {
    const message = errorMessage(error);
    if (isTransient(error)) {
      this.o.log.warn('transient error', { runId: run.id, state: run.state, error: message });
      const notices: Notice[] =
        message === run.lastError
          ? []
          : [{ type: 'reply', level: 'warning', text: `Trouble talking to the provider, will try again: ${message}` }];
      return { state: run.state, facts: run.facts, next: 'wait', lastError: message, notices };
    }
    this.o.log.warn('step failed', { runId: run.id, state: run.state, error: message });
    return failed(run.facts, run.state, message, { text: `Failed while ${describeState(run.state)}: ${message}` });
  }

  /** Persists one outcome. False when the run should not be stepped again in this pass. */
  private commit(run: Run, outcome: StepOutcome, calls: OutsideCall[]): boolean {
    const { store, clock } = this.o;
    const now = clock.now();
    const stateChanged = outcome.state !== run.state;
    const waitStreak = outcome.next === 'wait' && !stateChanged ? run.waitStreak + 1 : 0;
    const lastError = outcome.lastError ?? null;
    let written: Run | undefined;
    try {
      written = store.transaction(() => {
        const notices = [...(outcome.notices ?? [])];
        if (outcome.approval) notices.push(this.approvals.open(run, outcome.approval, now));
        if (outcome.expirePending) store.approvals.closePending(run.id, 'expired', 'expired', now);
        const nextCheckAt = this.nextCheckAt(run, outcome, waitStreak, now);
        const change = { state: outcome.state, facts: outcome.facts, nextCheckAt, lastError, waitStreak };
        const deadlineAt = outcome.freshDeadline ? now + this.o.waitDeadlineMs : run.deadlineAt;
        if (!store.runs.update(run.id, run.version, { ...change, deadlineAt }, now)) {
          throw new RunMoved();
        }
        const updated = store.runs.get(run.id)!;
        auditCalls(store.events, run.id, calls, now);
        for (const event of outcome.events ?? []) store.events.add(run.id, 'bot', event.type, event.detail, now);
        if (outcome.watch) store.watches.upsert({ ...outcome.watch, domain: run.domain, runId: run.id }, now);
        if (outcome.watch === null) store.watches.remove(run.domain);
        if (outcome.scan?.found) store.scans.enqueue(run.id, outcome.scan.found);
        if (outcome.scan?.checked) store.scans.record(run.id, outcome.scan.checked);
        if (outcome.scrub) {
          store.runs.setParams(run.id, outcome.scrub.params);
          store.outbox.dropPreviews(run.id);
        }
        if (stateChanged) store.events.add(run.id, 'bot', 'state', { from: run.state, to: outcome.state }, now);
        // The first commit of a run always says something, so that its thread opens (see Journal.say).
        if (stateChanged || lastError !== run.lastError || run.version === 0 || outcome.progress) {
          notices.push({ type: 'parent_update', summary: summarize(updated) });
        }
        this.journal.say(updated, notices, `v${updated.version}`, now);
        return updated;
      });
    } catch (error) {
      if (!(error instanceof RunMoved)) throw error;
      this.o.log.info('run moved during the step; outcome dropped', { runId: run.id });
      this.recordDroppedStep(run, outcome, calls, now);
      return false;
    }
    if (stateChanged) {
      const level = written.state === 'failed' || written.state === 'needs_attention' ? 'warn' : 'info';
      this.o.log[level]('run state', {
        runId: run.id,
        kind: run.kind,
        from: run.state,
        to: written.state,
        ...(written.lastError ? { error: written.lastError } : {}),
      });
    }
    return outcome.next === 'now' && !isFinished(written.state);
  }

  /**
   * The run was cancelled or changed while its step talked to the outside world: the outcome is dropped, but every
   * side effect it made (at OVH, a mail sent or maybe sent) stays in the audit trail and is said in the thread.
   */
  private recordDroppedStep(run: Run, outcome: StepOutcome, calls: OutsideCall[], now: number): void {
    const { store } = this.o;
    const done = describeChanges(calls);
    store.transaction(() => {
      auditCalls(store.events, run.id, calls, now);
      for (const event of outcome.events ?? []) store.events.add(run.id, 'bot', event.type, event.detail, now);
      if (!done) return;
      const text = `While this run was being changed, its last step had already been carried out ${done}.`;
      this.journal.say(
        store.runs.get(run.id)!,
        [{ type: 'reply', level: 'warning', text }],
        `dropped-v${run.version}`,
        now,
      );
    });
  }

  private nextCheckAt(run: Run, outcome: StepOutcome, waitStreak: number, now: number): number | null {
    if (outcome.state === 'awaiting_approval') return this.approvals.nextLook(run.id);
    if (isFinished(outcome.state) || outcome.next === 'none') return null;
    if (outcome.next === 'now') return now;
    if (outcome.wakeAt !== undefined) return Math.max(outcome.wakeAt, now);
    const delay = Math.min(this.o.firstRecheckMs * 2 ** Math.max(0, waitStreak - 1), this.o.recheckMaxMs);
    const next = now + delay;
    return run.deadlineAt !== null && outcome.state === run.state
      ? Math.min(next, Math.max(run.deadlineAt, now))
      : next;
  }

  private workflow(kind: RunKind): Workflow {
    const workflow = this.workflows.get(kind);
    if (!workflow) throw new Error(`no workflow for ${kind}`);
    return workflow;
  }
}

class RunMoved extends Error {}

function holderIsDead(holder: string): boolean {
  const [host, pidText] = holder.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function stalled(run: Run): StepOutcome {
  const observation = typeof run.facts.lastObservation === 'string' ? run.facts.lastObservation : 'nothing changed';
  return {
    state: 'stalled',
    facts: { ...run.facts, resumeState: run.state },
    next: 'none',
    lastError: `Deadline reached while ${describeState(run.state)}. Last observation: ${observation}`,
    notices: [
      {
        type: 'reply',
        level: 'warning',
        mention: true,
        text: `Stalled: the deadline passed while ${describeState(run.state)}.\nLast observation: ${observation}\nFix what is wrong, then \`/dkim retry\` resumes the wait.`,
      },
    ],
  };
}
