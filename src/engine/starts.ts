import type { Clock } from '../clock.ts';
import type { Run, RunKind } from '../domain/runs.ts';
import type { Store } from '../store/index.ts';
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
    const { store } = this.d;
    return store.transaction((): StartResult => {
      if (this.overLimit(input.requestedBy)) return { ok: false, limit: this.limit };
      const busy = this.busyWith(input);
      if (busy) return { ok: false, existing: busy };
      const run = this.insert(input, this.d.clock.now());
      return run ? { ok: true, run } : { ok: false, existing: store.runs.active(input.kind, input.domain)! };
    });
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
      if (!run) return { ok: false, existing: store.runs.active(group.kind, group.domain)! };
      const started: Run[] = [];
      const skipped: Run[] = [];
      for (const member of members) {
        const busy = this.busyWith(member);
        const inserted = busy
          ? undefined
          : this.insert({ ...member, params: { ...member.params, group: run.id } }, now);
        if (inserted) started.push(inserted);
        else skipped.push(busy ?? store.runs.active(member.kind, member.domain)!);
      }
      const params = { ...group.params, members: started.map((m) => m.id) };
      store.runs.setParams(run.id, params);
      return { ok: true, run: { ...run, params }, members: started, skipped };
    });
  }

  /** An active run the new one must wait for: of its own kind, or one that changes the same domain's keys. */
  private busyWith(input: StartInput): Run | undefined {
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
