import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Notice, RunSummary } from '../domain/notices.ts';
import { type Approval, isFinished, type Run, type RunKind, type RunState } from '../domain/runs.ts';
import type { Logger } from '../log.ts';
import { errorMessage, isTransient, ProviderError } from '../providers/errors.ts';
import type { OvhApi, OvhCall } from '../providers/ovh.ts';
import type { Store } from '../store/index.ts';
import type { ApproverPolicy } from './approvers.ts';
import { failed, showRun } from './outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from './types.ts';

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
  leaseMs?: number;
  owner?: string;
}

export type StartResult = { ok: true; run: Run } | { ok: false; existing: Run };
export type ActionResult = { ok: true; message: string; run?: Run } | { ok: false; message: string; run?: Run };

const MAX_STEPS_PER_PASS = 30;

/**
 * Loads a run, lets its workflow do the one next thing, and persists the outcome, its audit events and its messages
 * in one transaction. Also the one place where runs are started, approved, rejected, cancelled and retried.
 */
export class Engine {
  private readonly workflows: Map<RunKind, Workflow>;
  private readonly owner: string;
  private readonly inFlight = new Set<number>();
  private readonly kicked = new Set<Promise<unknown>>();
  private readonly outboxListeners: (() => void)[] = [];
  private stopping = false;

  constructor(private readonly o: EngineOptions) {
    this.workflows = new Map(o.workflows.map((w) => [w.kind, w]));
    this.owner = o.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  private get timing() {
    return { firstRecheckMs: this.o.firstRecheckMs, recheckMaxMs: this.o.recheckMaxMs };
  }

  get store(): Store {
    return this.o.store;
  }

  start(input: {
    kind: RunKind;
    domain: string;
    params: Record<string, unknown>;
    requestedBy: string;
    channelId: string | null;
  }): StartResult {
    const workflow = this.workflow(input.kind);
    const now = this.o.clock.now();
    const { store } = this.o;
    const result = store.transaction((): StartResult => {
      const run = store.runs.insert(
        {
          ...input,
          state: workflow.firstState,
          nextCheckAt: now,
          deadlineAt: now + this.o.waitDeadlineMs,
        },
        now,
      );
      if (!run) return { ok: false, existing: store.runs.active(input.kind, input.domain)! };
      store.events.add(run.id, input.requestedBy, 'requested', { kind: input.kind, params: input.params }, now);
      this.writeNotices(run, [{ type: 'parent', summary: summarize(run) }], 'start', now);
      return { ok: true, run };
    });
    if (result.ok) this.kick(result.run.id);
    return result;
  }

  /** Steps every due run (or every active one), a few at a time. Returns the number of runs looked at. */
  async tick(options: { all?: boolean } = {}): Promise<number> {
    const now = this.o.clock.now();
    const ids = options.all
      ? this.o.store.runs.listActive(10_000).map((r) => r.id)
      : this.o.store.runs.due(now, 10_000);
    const queue = ids.filter((id) => !this.inFlight.has(id));
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
    const work = new Promise((resolve) => setImmediate(resolve))
      .then(() => this.advance(runId))
      .finally(() => this.kicked.delete(work));
    this.kicked.add(work);
  }

  /** Called (after the writing transaction) whenever messages were written to the outbox. */
  onOutbox(listener: () => void): void {
    this.outboxListeners.push(listener);
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
    const calls: OvhCall[] = [];
    let current = run;
    let outcome: StepOutcome;
    if (run.state === 'awaiting_approval') {
      outcome = this.approvalWait(run, now);
    } else if (run.deadlineAt !== null && now >= run.deadlineAt && workflow.waitingStates.includes(run.state)) {
      outcome = stalled(run);
    } else {
      const ctx: StepContext = {
        ...this.o.providers,
        now,
        timing: this.timing,
        ovh: recording(this.o.providers.ovh, calls, () => this.holdLease(run.id)),
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

  private checkpoint(run: Run, state: RunState, facts: Record<string, unknown>): Run {
    const { store, clock } = this.o;
    const now = clock.now();
    return store.transaction(() => {
      const change = { ...changeOf(run), state, facts, lastError: null, nextCheckAt: now };
      if (!store.runs.update(run.id, run.version, change, now)) throw new RunMoved();
      store.events.add(run.id, 'bot', 'state', { from: run.state, to: state }, now);
      const updated = store.runs.get(run.id)!;
      this.writeNotices(updated, [{ type: 'parent_update', summary: summarize(updated) }], `v${updated.version}`, now);
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
  private commit(run: Run, outcome: StepOutcome, calls: OvhCall[]): boolean {
    const { store, clock } = this.o;
    const now = clock.now();
    const stateChanged = outcome.state !== run.state;
    const waitStreak = outcome.next === 'wait' && !stateChanged ? run.waitStreak + 1 : 0;
    const lastError = outcome.lastError ?? null;
    let written: Run | undefined;
    try {
      written = store.transaction(() => {
        const notices = [...(outcome.notices ?? [])];
        if (outcome.approval) notices.push(this.createApproval(run, outcome.approval, now));
        if (outcome.expirePending) store.approvals.closePending(run.id, 'expired', 'expired', now);
        const nextCheckAt = this.nextCheckAt(run, outcome, waitStreak, now);
        const change = { state: outcome.state, facts: outcome.facts, nextCheckAt, lastError, waitStreak };
        if (!store.runs.update(run.id, run.version, { ...change, deadlineAt: run.deadlineAt }, now)) {
          throw new RunMoved();
        }
        const updated = store.runs.get(run.id)!;
        for (const call of calls) store.events.add(run.id, 'bot', 'ovh_call', call, now);
        for (const event of outcome.events ?? []) store.events.add(run.id, 'bot', event.type, event.detail, now);
        if (stateChanged) store.events.add(run.id, 'bot', 'state', { from: run.state, to: outcome.state }, now);
        if (stateChanged || lastError !== run.lastError) {
          notices.push({ type: 'parent_update', summary: summarize(updated) });
        }
        this.writeNotices(updated, notices, `v${updated.version}`, now);
        return updated;
      });
    } catch (error) {
      if (!(error instanceof RunMoved)) throw error;
      this.o.log.info('run moved during the step; outcome dropped', { runId: run.id });
      this.recordDroppedStep(run, outcome, calls, now);
      return false;
    }
    return outcome.next === 'now' && !isFinished(written.state);
  }

  /**
   * The run was cancelled or changed while its step talked to OVH: the outcome is dropped, but what was done at OVH
   * stays in the audit trail and, for a change, in the thread.
   */
  private recordDroppedStep(run: Run, outcome: StepOutcome, calls: OvhCall[], now: number): void {
    const { store } = this.o;
    const changes = calls.filter((c) => c.method !== 'GET' && c.status === 'ok');
    store.transaction(() => {
      for (const call of calls) store.events.add(run.id, 'bot', 'ovh_call', call, now);
      for (const event of outcome.events ?? []) store.events.add(run.id, 'bot', event.type, event.detail, now);
      if (changes.length === 0) return;
      const done = changes.map((c) => `\`${c.method} ${c.path}\``).join(', ');
      const text = `While this run was being changed, its last step had already been carried out at OVH: ${done}.`;
      this.writeNotices(
        store.runs.get(run.id)!,
        [{ type: 'reply', level: 'warning', text }],
        `dropped-v${run.version}`,
        now,
      );
    });
  }

  private nextCheckAt(run: Run, outcome: StepOutcome, waitStreak: number, now: number): number | null {
    if (outcome.state === 'awaiting_approval') {
      const approval = this.o.store.approvals.latestForRun(run.id);
      return approval?.status === 'pending' ? approval.expiresAt : null;
    }
    if (isFinished(outcome.state) || outcome.next === 'none') return null;
    if (outcome.next === 'now') return now;
    const delay = Math.min(this.o.firstRecheckMs * 2 ** Math.max(0, waitStreak - 1), this.o.recheckMaxMs);
    const next = now + delay;
    return run.deadlineAt !== null && outcome.state === run.state
      ? Math.min(next, Math.max(run.deadlineAt, now))
      : next;
  }

  private createApproval(run: Run, request: NonNullable<StepOutcome['approval']>, now: number): Notice {
    const { store } = this.o;
    store.approvals.closePending(run.id, 'superseded', 'a fresh card was posted', now);
    const approval = store.approvals.create(
      {
        runId: run.id,
        action: request.action,
        snapshot: request.snapshot,
        requestedBy: run.requestedBy,
        expiresAt: now + this.o.approvalTtlMs,
      },
      now,
    );
    store.events.add(run.id, 'bot', 'approval_requested', { approvalId: approval.id, ...request.snapshot }, now);
    return {
      type: 'approval_request',
      approvalId: approval.id,
      title: request.title,
      lines: request.lines,
      approvers: [...this.o.approvers.approvers],
      expiresAt: approval.expiresAt,
      ...(request.preview ? { preview: request.preview } : {}),
    };
  }

  /** A run waiting for a decision is only looked at when its card expires. */
  private approvalWait(run: Run, now: number): StepOutcome {
    const approval = this.o.store.approvals.latestForRun(run.id);
    if (approval?.status === 'pending' && approval.expiresAt > now) {
      return { state: run.state, facts: run.facts, next: 'none' };
    }
    return {
      expirePending: approval?.status === 'pending',
      state: run.state,
      facts: run.facts,
      next: 'none',
      notices: approval
        ? [
            { type: 'approval_decided', approvalId: approval.id, decision: 'expired', at: now },
            { type: 'reply', text: 'The approval card expired. `/dkim retry` posts a fresh one.' },
          ]
        : [],
    };
  }

  /** Approve or reject. Tracked like a kick, so that `idle()` also waits for decisions in progress. */
  decide(approvalId: number, userId: string, decision: 'approved' | 'rejected'): Promise<ActionResult> {
    const work = this.decideNow(approvalId, userId, decision).finally(() => this.kicked.delete(work));
    this.kicked.add(work);
    return work;
  }

  private async decideNow(
    approvalId: number,
    userId: string,
    decision: 'approved' | 'rejected',
  ): Promise<ActionResult> {
    const { store, clock } = this.o;
    const approval = store.approvals.get(approvalId);
    if (!approval) return { ok: false, message: `There is no approval #${approvalId}.` };
    const run = store.runs.get(approval.runId)!;
    const closed = closedReason(approval, clock.now());
    if (closed) return { ok: false, message: closed, run };
    const refusal = await this.o.approvers.refusal(userId, approval.requestedBy);
    if (refusal) {
      store.events.add(run.id, userId, 'decision_refused', { approvalId, decision, reason: refusal }, clock.now());
      return { ok: false, message: refusal, run };
    }
    const workflow = this.workflow(run.kind);
    if (decision === 'approved') {
      const stale = await this.recheck(workflow, run, approval);
      if (stale) return this.supersede(run, approval, userId, stale);
    }
    const now = clock.now();
    const outcome = store.transaction(() => {
      if (!store.approvals.decide(approval.id, decision, userId, now)) return undefined;
      const current = store.runs.get(run.id)!;
      const state: RunState = decision === 'approved' ? workflow.afterApproval : 'rejected';
      const moved = store.runs.update(
        current.id,
        current.version,
        {
          state,
          facts: { ...current.facts, approvedBy: decision === 'approved' ? userId : undefined },
          nextCheckAt: decision === 'approved' ? now : null,
          deadlineAt: now + this.o.waitDeadlineMs,
          lastError: null,
          waitStreak: 0,
        },
        now,
      );
      if (!moved) throw new Error('the run moved while the decision was written');
      const updated = store.runs.get(run.id)!;
      store.events.add(run.id, userId, decision, { approvalId, ...approval.snapshot }, now);
      this.writeNotices(
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
      const latest = store.approvals.get(approvalId)!;
      return { ok: false, message: closedReason(latest, now) ?? 'This approval was already used.', run };
    }
    if (decision === 'approved') this.kick(run.id);
    const verb = decision === 'approved' ? 'Approved' : 'Rejected';
    return { ok: true, message: `${verb} by <@${userId}>.`, run: outcome };
  }

  private async recheck(workflow: Workflow, run: Run, approval: Approval): Promise<string | undefined> {
    const calls: OvhCall[] = [];
    const now = this.o.clock.now();
    try {
      return await workflow.recheckApproval(run, approval, {
        ...this.o.providers,
        now,
        timing: this.timing,
        ovh: recording(this.o.providers.ovh, calls),
      });
    } catch (error) {
      return `Could not re-check before acting: ${errorMessage(error)}`;
    } finally {
      for (const call of calls) this.o.store.events.add(run.id, 'bot', 'ovh_call', call, now);
    }
  }

  /** The card no longer matches what is true: close it, say why, and look at the run again. */
  private supersede(run: Run, approval: Approval, userId: string, reason: string): ActionResult {
    const { store, clock } = this.o;
    const now = clock.now();
    const workflow = this.workflow(run.kind);
    store.transaction(() => {
      const current = store.runs.get(run.id)!;
      if (store.approvals.get(approval.id)?.status !== 'pending' || current.state !== 'awaiting_approval') return;
      store.approvals.closePending(run.id, 'superseded', reason, now);
      const facts = workflow.freshLook?.(current.facts) ?? current.facts;
      store.runs.update(
        current.id,
        current.version,
        { ...changeOf(current), facts, state: workflow.beforeApproval, nextCheckAt: now, waitStreak: 0 },
        now,
      );
      store.events.add(run.id, userId, 'approval_refused_stale', { approvalId: approval.id, reason }, now);
      this.writeNotices(
        store.runs.get(run.id)!,
        [{ type: 'reply', level: 'warning', text: `Approval refused: ${reason} Looking again.` }],
        `stale-${approval.id}`,
        now,
      );
    });
    this.kick(run.id);
    return { ok: false, message: `Refused: ${reason}`, run };
  }

  cancel(kindOrAny: RunKind | undefined, domain: string, userId: string): ActionResult {
    const { store, clock } = this.o;
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
        { ...changeOf(current), state: 'cancelled', nextCheckAt: null, lastError: null },
        now,
      );
      store.events.add(run.id, userId, 'cancelled', {}, now);
      const updated = store.runs.get(run.id)!;
      this.writeNotices(
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
    const { store, clock } = this.o;
    const now = clock.now();
    const run = store.runs.latestForDomain(domain, kindOrAny);
    if (!run) return { ok: false, message: `There is no run for ${show(domain)}. Start one with \`/dkim setup\`.` };
    const workflow = this.workflow(run.kind);
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
          ...changeOf(run),
          state: target,
          facts,
          nextCheckAt: now,
          deadlineAt: now + this.o.waitDeadlineMs,
          lastError: null,
          waitStreak: 0,
        },
        now,
      );
      if (!moved) return false;
      store.events.add(run.id, userId, 'retried', { from: run.state, to: target }, now);
      const updated = store.runs.get(run.id)!;
      this.writeNotices(
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
    this.kick(run.id);
    return { ok: true, message: `Retrying the ${run.kind} run for ${show(domain)}.`, run: store.runs.get(run.id) };
  }

  activeRun(domain: string, kind?: RunKind): Run | undefined {
    if (kind) return this.o.store.runs.active(kind, domain);
    const latest = this.o.store.runs.latestForDomain(domain);
    return latest && !isFinished(latest.state) ? latest : undefined;
  }

  private workflow(kind: RunKind): Workflow {
    const workflow = this.workflows.get(kind);
    if (!workflow) throw new Error(`no workflow for ${kind}`);
    return workflow;
  }

  private writeNotices(run: Run, notices: Notice[], key: string, now: number): void {
    notices.forEach((notice, i) => {
      this.o.store.outbox.add(run.id, notice, run.channelId, `${run.id}:${key}:${i}`, now);
    });
    if (notices.length > 0 && run.channelId) {
      setImmediate(() => {
        for (const listener of this.outboxListeners) listener();
      });
    }
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

function recording(ovh: OvhApi | undefined, calls: OvhCall[], beforeChange: () => void = () => {}): OvhApi | undefined {
  if (!ovh) return undefined;
  const track = async <T>(method: OvhCall['method'], path: string, call: () => Promise<T>): Promise<T> => {
    try {
      if (method !== 'GET') beforeChange();
      const result = await call();
      calls.push({ method, path, status: 'ok' });
      return result;
    } catch (error) {
      const status = (error as { status?: number }).status;
      calls.push({ method, path, status: status ?? 'network' });
      throw error;
    }
  };
  return {
    get: (path, schema, query) => track('GET', path, () => ovh.get(path, schema, query)),
    post: (path, body, schema) => track('POST', path, () => ovh.post(path, body, schema)),
    put: (path, body, schema) => track('PUT', path, () => ovh.put(path, body, schema)),
  };
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

function closedReason(approval: Approval, now: number): string | undefined {
  switch (approval.status) {
    case 'approved':
      return `Already approved by <@${approval.decidedBy}>.`;
    case 'rejected':
      return `Already rejected by <@${approval.decidedBy}>.`;
    case 'expired':
      return 'This approval card expired. `/dkim retry` posts a fresh one.';
    case 'superseded':
      return `This card is no longer valid (${approval.reason ?? 'superseded'}).`;
    case 'pending':
      return approval.expiresAt <= now ? 'This approval card expired. `/dkim retry` posts a fresh one.' : undefined;
  }
}

function changeOf(run: Run) {
  return {
    state: run.state,
    facts: run.facts,
    nextCheckAt: run.nextCheckAt,
    deadlineAt: run.deadlineAt,
    lastError: run.lastError,
    waitStreak: run.waitStreak,
  };
}

export function summarize(run: Run): RunSummary {
  const detail = typeof run.facts.lastObservation === 'string' ? run.facts.lastObservation : undefined;
  return {
    runId: run.id,
    kind: run.kind,
    domain: show(run.domain),
    state: run.state,
    requestedBy: run.requestedBy,
    nextCheckAt: run.nextCheckAt,
    lastError: run.lastError,
    ...(detail ? { detail } : {}),
  };
}

function show(domain: string): string {
  return showRun({ domain });
}

function describeState(state: RunState): string {
  const phrases: Partial<Record<RunState, string>> = {
    discovering: 'looking up the Exchange service and the DNS zone',
    requesting_keys: 'asking VTEX for the keys',
    creating_keys: 'creating the DKIM keys',
    publishing: 'publishing the DNS records',
    waiting_ready: 'waiting for the keys to be ready',
    verifying: 'checking the records in DNS',
    composing: 'composing the order',
    awaiting_approval: 'waiting for approval',
    approved: 'about to send the order',
    sending: 'sending the order',
    enabling: 'enabling DKIM',
  };
  return phrases[state] ?? state.replace(/_/g, ' ');
}
