import type { Clock } from '../clock.ts';
import type { Notice } from '../domain/notices.ts';
import { describeState, isFinished, type Run, type RunState } from '../domain/runs.ts';
import type { Logger } from '../log.ts';
import { errorMessage, isTransient, ProviderError } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';
import { unchanged } from '../store/runs.ts';
import type { Approvals } from './approvals/index.ts';
import { endRuns } from './ending.ts';
import type { Journal } from './journal.ts';
import { failed } from './outcomes.ts';
import { auditCalls, describeChanges, type OutsideCall } from './recording.ts';
import { summarize } from './summary.ts';
import type { StepOutcome } from './types.ts';

/** The run changed (cancelled, decided, stepped elsewhere) since the step read it: its outcome is not written. */
export class RunMoved extends Error {}

export interface CommitDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  journal: Journal;
  approvals: Approvals;
  waitDeadlineMs: number;
  firstRecheckMs: number;
  recheckMaxMs: number;
}

/**
 * Writes what steps did: an outcome, its audit events and its messages in one transaction, guarded by a
 * compare-and-set on the run's version; a checkpoint in the middle of a step (durable); the account of a step whose
 * run moved meanwhile. Errors are sorted here: transient (try again), terminal (the provider's words), and anything
 * else, a bug (logged as one, the run parked in needs_attention, never shown as the user's failure).
 */
export class Commits {
  constructor(private readonly d: CommitDeps) {}

  /** Written durably (synchronous=FULL): it stands before an action that must happen at most once. */
  checkpoint(run: Run, state: RunState, facts: Record<string, unknown>): Run {
    const { store, clock } = this.d;
    const now = clock.now();
    return store.durableTransaction(() => {
      const change = { ...unchanged(run), state, facts, lastError: null, nextCheckAt: now };
      if (!store.runs.update(run.id, run.version, change, now)) throw new RunMoved();
      const updated = this.reread(run.id);
      if (state !== run.state) {
        store.events.add(run.id, 'bot', 'state', { from: run.state, to: state }, now);
        this.d.journal.say(
          updated,
          [{ type: 'parent_update', summary: summarize(updated) }],
          `v${updated.version}`,
          now,
        );
      }
      return updated;
    });
  }

  failureOutcome(run: Run, error: unknown): StepOutcome {
    const message = errorMessage(error);
    if (isTransient(error)) {
      this.d.log.warn('transient error', { runId: run.id, state: run.state, error: message });
      const notices: Notice[] =
        message === run.lastError
          ? []
          : [{ type: 'reply', level: 'warning', text: `Trouble talking to the provider, will try again: ${message}` }];
      return { state: run.state, facts: run.facts, next: 'wait', lastError: message, notices };
    }
    if (error instanceof ProviderError) {
      this.d.log.warn('step failed', { runId: run.id, state: run.state, error: message });
      return failed(run.facts, run.state, message, { text: `Failed while ${describeState(run.state)}: ${message}` });
    }
    return this.bug(run, error);
  }

  /** A broken invariant (or any error no provider raised): a bug in the bot, said as one, the run parked. */
  private bug(run: Run, error: unknown): StepOutcome {
    this.d.log.error('bug: a broken invariant', {
      runId: run.id,
      kind: run.kind,
      state: run.state,
      error: errorMessage(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    const text = `The bot stopped this run while ${describeState(run.state)}: a record it relies on is missing or wrong. That is a bug in the bot, not something you did; it is logged with run #${run.id}. Nothing more is done until someone looks; \`/dkim retry\` tries this step again.`;
    return {
      state: 'needs_attention',
      facts: { ...run.facts, failedIn: run.state },
      next: 'none',
      lastError: `Stopped by a bug in the bot (logged with run #${run.id}).`,
      notices: [{ type: 'reply', level: 'error', mention: true, text }],
    };
  }

  /** Persists one outcome. The run as written, or undefined when it moved meanwhile (the outcome is then dropped). */
  commit(run: Run, outcome: StepOutcome, calls: OutsideCall[]): Run | undefined {
    const { store, clock } = this.d;
    const now = clock.now();
    const stateChanged = outcome.state !== run.state;
    const waitStreak = outcome.next === 'wait' && !stateChanged ? run.waitStreak + 1 : 0;
    const lastError = outcome.lastError ?? null;
    try {
      return store.transaction(() => {
        const notices = [...(outcome.notices ?? [])];
        if (outcome.approval) notices.push(...this.d.approvals.open(run, outcome.approval, now));
        if (outcome.end) endRuns(store, outcome.end.runs, run, outcome.end.as, 'bot', now);
        if (outcome.expirePending) store.approvals.closePending(run.id, 'expired', 'expired', now);
        const nextCheckAt = this.nextCheckAt(run, outcome, waitStreak, now);
        const change = { state: outcome.state, facts: outcome.facts, nextCheckAt, lastError, waitStreak };
        const deadlineAt = outcome.freshDeadline ? now + this.d.waitDeadlineMs : run.deadlineAt;
        if (!store.runs.update(run.id, run.version, { ...change, deadlineAt }, now)) throw new RunMoved();
        const updated = this.reread(run.id);
        auditCalls(store.events, run.id, calls, now);
        for (const event of outcome.events ?? []) store.events.add(run.id, 'bot', event.type, event.detail, now);
        if (outcome.watch) store.watches.upsert({ ...outcome.watch, domain: run.domain, runId: run.id }, now);
        if (outcome.watch === null) store.watches.remove(run.domain);
        if (outcome.dmarc) {
          const who = { domain: run.domain, runId: run.id, requestedBy: run.requestedBy, channelId: run.channelId };
          store.dmarcDomains.written({ ...outcome.dmarc, ...who }, now);
        }
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
        this.d.journal.say(updated, notices, `v${updated.version}`, now);
        return updated;
      });
    } catch (error) {
      if (!(error instanceof RunMoved)) throw error;
      this.d.log.info('run moved during the step; outcome dropped', { runId: run.id });
      this.recordDroppedStep(run, outcome.events ?? [], calls);
      return undefined;
    }
  }

  /**
   * The run was cancelled or changed while its step talked to the outside world: the outcome is dropped, but every
   * side effect it made (at OVH, a mail sent or maybe sent) stays in the audit trail and is said in the thread.
   */
  recordDroppedStep(run: Run, events: NonNullable<StepOutcome['events']>, calls: OutsideCall[]): void {
    const { store } = this.d;
    const now = this.d.clock.now();
    const done = describeChanges(calls);
    store.transaction(() => {
      auditCalls(store.events, run.id, calls, now);
      for (const event of events) store.events.add(run.id, 'bot', event.type, event.detail, now);
      if (!done) return;
      const text = `While this run was being changed, its last step had already been carried out ${done}.`;
      this.d.journal.say(
        this.reread(run.id),
        [{ type: 'reply', level: 'warning', text }],
        `dropped-v${run.version}`,
        now,
      );
    });
  }

  /** The deadline passed while the run waited on the outside world. */
  stalled(run: Run): StepOutcome {
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

  private nextCheckAt(run: Run, outcome: StepOutcome, waitStreak: number, now: number): number | null {
    if (outcome.state === 'awaiting_approval') return this.d.approvals.nextLook(run.id);
    if (isFinished(outcome.state) || outcome.next === 'none') return null;
    if (outcome.next === 'now') return now;
    if (outcome.wakeAt !== undefined) return Math.max(outcome.wakeAt, now);
    const delay = Math.min(this.d.firstRecheckMs * 2 ** Math.max(0, waitStreak - 1), this.d.recheckMaxMs);
    const next = now + delay;
    return run.deadlineAt !== null && outcome.state === run.state
      ? Math.min(next, Math.max(run.deadlineAt, now))
      : next;
  }

  /** The run just written in this transaction: it exists, or the store is broken. */
  private reread(runId: number): Run {
    const run = this.d.store.runs.get(runId);
    if (!run) throw new Error(`run #${runId} vanished inside its own transaction`);
    return run;
  }
}
