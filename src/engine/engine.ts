import type { Clock } from '../clock.ts';
import { isFinished, type Run, type RunKind } from '../domain/runs.ts';
import { DAY_MS } from '../domain/time.ts';
import type { Logger } from '../log.ts';
import { errorMessage } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import type { ApproverPolicy } from './access.ts';
import { cancellable, RunActions } from './actions.ts';
import { Approvals } from './approvals/index.ts';
import type { Boot } from './boot.ts';
import { Commits, RunMoved } from './commits.ts';
import { dropPrivateParams } from './ending.ts';
import { InvariantError } from './invariant.ts';
import { Journal } from './journal.ts';
import { Leases } from './leases.ts';
import { type OutsideCall, recorded } from './recording.ts';
import { type GroupStartResult, type StartInput, type StartResult, Starts } from './starts.ts';
import { storeView } from './store-view.ts';
import type { StepContext, StepOutcome, StoreView, Workflow } from './types.ts';

export type { StartResult } from './starts.ts';

export interface EngineOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  workflows: Workflow[];
  approvers: ApproverPolicy;
  /** Providers for the steps; `ovh` is wrapped per step so every call lands in the audit trail. */
  providers: Omit<StepContext, 'now' | 'timing' | 'checkpoint' | 'view'>;
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
  /** This process, as the others on the database see it: its boot id owns the leases. */
  boot: Boot;
}

const MAX_STEPS_PER_PASS = 30;
const LEASE_MS = 5 * 60_000;

/**
 * Loads a run, lets its workflow do the one next thing, and persists the outcome, its audit events and its messages
 * in one transaction (`commits`). Runs are started here; approvals and an operator's cancel and retry have modules of
 * their own (`approvals`, `actions`), built on the same store, journal and background work.
 */
export class Engine {
  readonly approvals: Approvals;
  readonly actions: RunActions;
  private readonly starts: Starts;
  /** What is said about runs (the watch writes into the threads of finished runs through it too). */
  readonly journal: Journal;
  private readonly commits: Commits;
  private readonly leases: Leases;
  private readonly workflows: Map<RunKind, Workflow>;
  private readonly inFlight = new Set<number>();
  private readonly kicked = new Set<Promise<unknown>>();
  /** Runs kicked, waiting for their turn (`kick`). */
  private readonly kickedIds = new Set<number>();
  private stopping = false;
  private readonly view: StoreView;

  constructor(private readonly o: EngineOptions) {
    this.workflows = new Map(o.workflows.map((w) => [w.kind, w]));
    this.leases = new Leases(o.store, o.clock, o.log, o.boot, o.leaseMs ?? LEASE_MS);
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
      view: this.view,
    });
    this.starts = new Starts({ ...shared, maxActiveRunsPerUser: o.maxActiveRunsPerUser });
    this.actions = new RunActions({
      ...shared,
      policy: o.approvers,
      starts: this.starts,
      busy: (runId) => this.inFlight.has(runId) || this.leases.heldElsewhere(runId),
    });
    this.commits = new Commits({
      store: o.store,
      clock: o.clock,
      log: o.log,
      journal: this.journal,
      approvals: this.approvals,
      waitDeadlineMs: o.waitDeadlineMs,
      firstRecheckMs: o.firstRecheckMs,
      recheckMaxMs: o.recheckMaxMs,
    });
  }

  private get timing() {
    return { firstRecheckMs: this.o.firstRecheckMs, recheckMaxMs: this.o.recheckMaxMs };
  }

  get store(): Store {
    return this.o.store;
  }

  /**
   * A run a person asked for. Its commit is shared with the starts asked for at the same moment, so that a burst of
   * commands writes once instead of once per command; it resolves once the run is written.
   */
  async start(input: StartInput): Promise<StartResult> {
    const result = await this.o.store.sharedTransaction(() => this.starts.startInTransaction(input));
    if (result.ok) this.kick(result.run.id);
    return result;
  }

  /** A run started inside the caller's transaction, beside what else the caller writes there. */
  startWithin(input: StartInput): StartResult {
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
      for (let id = queue.shift(); id !== undefined && !this.stopping; id = queue.shift()) {
        await this.advance(id, options.all);
      }
    });
    await Promise.all(workers);
    return ids.length;
  }

  /** Steps one run until it waits, under a lease so that two instances never step it at once. */
  async advance(runId: number, force = false): Promise<void> {
    // Work that can wait: the command that started the run acks first, and no step begins between a burst's acks.
    await this.turn();
    await this.advanceNow(runId, force);
  }

  /** `advance`, its turn come. */
  private async advanceNow(runId: number, force = false): Promise<void> {
    if (this.inFlight.has(runId) || this.stopping) return;
    const { store, clock } = this.o;
    if (!this.leases.claim(runId)) return;
    this.inFlight.add(runId);
    try {
      for (let i = 0; i < MAX_STEPS_PER_PASS && !this.stopping; i++) {
        if (i > 0) {
          await this.turn();
          if (this.stopping || !this.leases.renew(runId)) return;
        }
        // Read after the wait: a cancel or an approval answered meanwhile is seen by this step.
        const run = store.runs.get(runId);
        if (!run || isFinished(run.state)) return;
        const due = run.nextCheckAt !== null && run.nextCheckAt <= clock.now();
        if (!due && !(force && i === 0)) return;
        const again = await this.stepOnce(run);
        if (!again) return;
      }
    } catch (error) {
      this.o.log.error('step crashed', { runId, error: errorMessage(error) });
    } finally {
      this.inFlight.delete(runId);
      this.leases.release(runId);
    }
  }

  /**
   * Starts stepping a run in the background (after a command or an approval), at the next turn (`defer`); `idle()`
   * waits for it. The runs kicked before that turn wait as ids in one set, with one pass for all of them: a burst of
   * commands holds a hundred numbers until it is answered, not a hundred waiting steps and their promises, which the
   * garbage collector would copy at every collection meanwhile.
   */
  kick(runId: number): void {
    this.kickedIds.add(runId);
    if (this.kickedIds.size > 1) return;
    void this.track(this.turn().then(() => this.advanceKicked())).catch((error) =>
      this.o.log.error('background step failed', { error }),
    );
  }

  /** One pass over the runs kicked since the last: each stepped on its own, tracked for `idle()`. */
  private advanceKicked(): void {
    const ids = [...this.kickedIds];
    this.kickedIds.clear();
    for (const runId of ids) {
      void this.track(this.advanceNow(runId)).catch((error) =>
        this.o.log.error('background step failed', { runId, error }),
      );
    }
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

  /**
   * What a step may use, its outside calls recorded into `calls`; `beforeChange` runs before each change at OVH.
   * Without a `checkpoint` (a re-check at the click), writing one is a bug.
   */
  private context(
    calls: OutsideCall[],
    beforeChange?: () => void,
    checkpoint: StepContext['checkpoint'] = () => {
      throw new InvariantError('a checkpoint outside a step');
    },
  ): StepContext {
    return {
      ...this.o.providers,
      now: this.o.clock.now(),
      timing: this.timing,
      view: this.view,
      checkpoint,
      ...recorded(this.o.providers, calls, beforeChange),
    };
  }

  /** Whether a person may still cancel the run (engine/actions.ts). */
  cancellable(run: Run): boolean {
    return cancellable(run, this.workflow(run.kind));
  }

  /**
   * Private data kept for a retry (an order's transfer code and owner's fields) is dropped once its run has waited
   * `ttlMs` in `failed` or `needs_attention` (BATCH_CODE_TTL_DAYS): said in the thread, and a retry then asks for a
   * fresh order. Returns how many runs were scrubbed.
   */
  dropExpiredPrivateParams(ttlMs: number): number {
    const { store } = this.o;
    const now = this.o.clock.now();
    let dropped = 0;
    for (const workflow of this.workflows.values()) {
      if (!workflow.auditParams) continue;
      for (const run of store.runs.waitingOnPeople(workflow.kind, now - ttlMs)) {
        if (run.facts.privateDroppedAt !== undefined) continue;
        store.transaction(() => {
          dropPrivateParams(store, workflow, run);
          store.runs.update(
            run.id,
            run.version,
            { ...unchanged(run), facts: { ...run.facts, privateDroppedAt: now } },
            now,
          );
          store.events.add(run.id, 'bot', 'private_params_dropped', { after: ttlMs }, now);
          const text = `The transfer code and the owner's details of this order were deleted: it waited ${Math.round(ttlMs / DAY_MS)} days (BATCH_CODE_TTL_DAYS). A retry now needs a fresh order.`;
          this.journal.say(run, [{ type: 'reply', text }], `private-dropped-${now}`, now);
        });
        dropped++;
      }
    }
    return dropped;
  }

  /** The moment work that can wait may run (see `defer`): at once when nothing is being answered. */
  private turn(): Promise<void> {
    const defer = this.o.defer ?? setImmediate;
    return new Promise<void>((resolve) => defer(() => resolve()));
  }

  /** Graceful shutdown: no new step starts; the steps under way finish (what they did is persisted). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  async idle(): Promise<void> {
    while (this.kicked.size > 0) await Promise.all([...this.kicked]);
  }

  /** One step and its commit; whether the run goes on in this pass. */
  private async stepOnce(run: Run): Promise<boolean> {
    const workflow = this.workflow(run.kind);
    const now = this.o.clock.now();
    const calls: OutsideCall[] = [];
    let current = run;
    let outcome: StepOutcome;
    if (run.state === 'awaiting_approval') {
      outcome = this.approvals.waiting(run, now);
    } else if (run.deadlineAt !== null && now >= run.deadlineAt && workflow.waitingStates.includes(run.state)) {
      outcome = this.commits.stalled(run);
    } else {
      const checkpoint: StepContext['checkpoint'] = (state, facts) => {
        current = this.commits.checkpoint(current, state, facts);
      };
      try {
        outcome = await workflow.step(
          run,
          this.context(calls, () => this.leases.hold(run.id), checkpoint),
        );
      } catch (error) {
        if (error instanceof RunMoved) {
          this.commits.recordDroppedStep(current, [], calls);
          return false;
        }
        outcome = this.commits.failureOutcome(current, error);
      }
    }
    const written = this.commits.commit(current, outcome, calls);
    if (!written) return false;
    if (written.state !== current.state) this.logState(current, written);
    return outcome.next === 'now' && !isFinished(written.state);
  }

  private logState(from: Run, to: Run): void {
    const level = to.state === 'failed' || to.state === 'needs_attention' ? 'warn' : 'info';
    this.o.log[level]('run state', {
      runId: from.id,
      kind: from.kind,
      from: from.state,
      to: to.state,
      ...(to.lastError ? { error: to.lastError } : {}),
    });
  }

  private workflow(kind: RunKind): Workflow {
    const workflow = this.workflows.get(kind);
    if (!workflow) throw new Error(`no workflow for ${kind}`);
    return workflow;
  }
}
