import type { Clock } from '../clock.ts';
import { showRun } from '../domain/names.ts';
import { isFinished, type Run, type RunKind, stateLabel } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
import { need } from './invariant.ts';
import type { Workflow } from './types.ts';

export interface StartInput {
  kind: RunKind;
  domain: string;
  params: Record<string, unknown>;
  requestedBy: string;
  channelId: string | null;
}

export type StartResult =
  | { ok: true; run: Run }
  | { ok: false; existing: Run }
  /** The requester already has this many active runs (MAX_ACTIVE_RUNS_PER_USER). */
  | { ok: false; limit: number };

export type GroupStartResult =
  | { ok: true; run: Run; members: Run[]; skipped: Run[] }
  | { ok: false; existing: Run }
  | { ok: false; limit: number }
  /** Every member's domain already has a run going: no group was written. */
  | { ok: false; allRunning: Run[] };

export interface StartDeps {
  store: Store;
  clock: Clock;
  workflow(kind: RunKind): Workflow;
  waitDeadlineMs: number;
  maxActiveRunsPerUser?: number;
}

/**
 * Kinds that change a domain's keys at OVH: one of them at a time per domain, so that a setup never makes or enables
 * a key a rotation is retiring, and a disable never turns off what a rotation just switched on.
 */
export const KEY_KINDS: readonly RunKind[] = ['setup', 'rotate', 'disable'];

/** Runs are written here: one, or a group and its members in one transaction. Stepping them is the engine's. */
export class Starts {
  constructor(private readonly d: StartDeps) {}

  start(input: StartInput): StartResult {
    return this.d.store.transaction(() => this.startInTransaction(input));
  }

  /**
   * `start` inside a transaction the caller opened, which undoes its writes if it throws (a shared commit's
   * savepoint): no savepoint of its own, on Slack's ack path.
   */
  startInTransaction(input: StartInput): StartResult {
    const { store } = this.d;
    if (this.overLimit(input.requestedBy)) return { ok: false, limit: this.limit };
    const busy = this.busyWith(input);
    if (busy) return { ok: false, existing: busy };
    const run = this.insert(input, this.d.clock.now());
    return run
      ? { ok: true, run }
      : {
          ok: false,
          existing: need(store.runs.active(input.kind, input.domain), 'the active run that refused the insert'),
        };
  }

  /**
   * A group (Set up all) and one run per member, all at once: the group counts against its requester's active runs,
   * its members do not (they say nothing of their own; the group speaks for them). A member whose domain already has an
   * active run of its kind is left out, and said.
   */
  startGroup(group: StartInput, members: StartInput[]): GroupStartResult {
    const { store } = this.d;
    const now = this.d.clock.now();
    return store.transaction((): GroupStartResult => {
      if (this.overLimit(group.requestedBy)) return { ok: false, limit: this.limit };
      const running = members.map((m) => this.busyWith(m));
      if (running.every((r) => r !== undefined)) return { ok: false, allRunning: running as Run[] };
      const run = this.insert(group, now);
      if (!run)
        return {
          ok: false,
          existing: need(store.runs.active(group.kind, group.domain), 'the active group that refused the insert'),
        };
      const started: Run[] = [];
      const skipped: Run[] = [];
      for (const member of members) {
        const busy = this.busyWith(member);
        const inserted = busy
          ? undefined
          : this.insert({ ...member, params: { ...member.params, group: run.id } }, now);
        if (inserted) started.push(inserted);
        else
          skipped.push(
            busy ?? need(store.runs.active(member.kind, member.domain), 'the active run that refused a member'),
          );
      }
      const params = { ...group.params, members: started.map((m) => m.id) };
      store.runs.setParams(run.id, params);
      return { ok: true, run: { ...run, params }, members: started, skipped };
    });
  }

  /**
   * Whether `run`, finished, may become active again (a retry), by the rules a start obeys; inside the caller's
   * transaction. A run already active (stalled, waiting) counts already, and is let through.
   */
  readmits(run: Run): { ok: true } | { ok: false; existing: Run } | { ok: false; limit: number } {
    if (!isFinished(run.state)) return { ok: true };
    const member = typeof (run.params as { group?: unknown }).group === 'number';
    if (!member && this.overLimit(run.requestedBy)) return { ok: false, limit: this.limit };
    const busy = this.busyWith(run);
    return busy ? { ok: false, existing: busy } : { ok: true };
  }

  /** An active run the new one must wait for: of its own kind, or one that changes the same domain's keys. */
  private busyWith(input: Pick<StartInput, 'kind' | 'domain'>): Run | undefined {
    const kinds = KEY_KINDS.includes(input.kind) ? KEY_KINDS : [input.kind];
    return this.d.store.runs.activeOfKinds(kinds, input.domain);
  }

  private get limit(): number {
    return this.d.maxActiveRunsPerUser ?? Number.POSITIVE_INFINITY;
  }

  private overLimit(user: string): boolean {
    return this.d.store.runs.countActiveBy(user) >= this.limit;
  }

  private insert(input: StartInput, now: number): Run | undefined {
    const { store } = this.d;
    const workflow = this.d.workflow(input.kind);
    const run = store.runs.insert(
      { ...input, state: workflow.firstState, nextCheckAt: now, deadlineAt: now + this.d.waitDeadlineMs },
      now,
    );
    if (!run) return undefined;
    const params = workflow.auditParams?.(input.params) ?? input.params;
    store.events.add(run.id, input.requestedBy, 'requested', { kind: input.kind, params }, now);
    return run;
  }
}

/** Why a start (or a retry) was refused: the requester's active runs are at the cap. */
export function limitText(limit: number): string {
  return `you already have ${limit} active runs, the most one person may have at once (MAX_ACTIVE_RUNS_PER_USER). Let some finish, or cancel those you no longer need.`;
}

/** Why a start (or a retry) was refused: a run that changes the same keys is going. */
export function busyText(existing: Run): string {
  const domain = showRun(existing);
  return `a ${existing.kind} run for ${domain} is going (run #${existing.id}, ${stateLabel(existing.state).toLowerCase()}) and changes the same keys at OVH. Let it finish, or \`/dkim cancel ${existing.kind} ${existing.domain}\`, then ask again.`;
}
