import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { ProviderError } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';
import type { Boot } from './boot.ts';

/**
 * Leases on runs: a run is stepped by one process at a time, the owner being the process's boot id. A lease held by a
 * process that is gone (engine/boot.ts: silent, or killed on this host) is taken over at once instead of waiting for
 * it to expire; live holders are waited for.
 */
export class Leases {
  readonly owner: string;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly boot: Boot,
    private readonly leaseMs: number,
  ) {
    this.owner = boot.id;
  }

  /** Takes the run, or false when a live holder has it. */
  claim(runId: number): boolean {
    const { runs } = this.store;
    const now = this.clock.now();
    if (runs.claim(runId, this.owner, now, now + this.leaseMs)) return true;
    const holder = runs.leaseOwner(runId);
    if (!holder || !this.boot.isGone(holder)) return false;
    this.log.warn('taking over the lease of a process that is gone', { runId, holder });
    return runs.takeOver(runId, holder, this.owner, now + this.leaseMs);
  }

  /** Renewed before each step of a pass: a pass of many long steps (a scan) must not outlive its lease. */
  renew(runId: number): boolean {
    const now = this.clock.now();
    return this.store.runs.claim(runId, this.owner, now, now + this.leaseMs);
  }

  /** Before a change at OVH: renew this instance's lease, or stop if another instance took the run meanwhile. */
  hold(runId: number): void {
    if (!this.renew(runId)) {
      throw new ProviderError('ovh', 'transient', 'Another instance took over this run; this one stepped back.');
    }
  }

  release(runId: number): void {
    this.store.runs.release(runId, this.owner);
  }

  /** A live lease of another process that is not dead holds the run. */
  heldElsewhere(runId: number): boolean {
    const { runs } = this.store;
    const holder = runs.leaseOwner(runId);
    return runs.leased(runId, this.clock.now()) && !(holder && this.boot.isGone(holder));
  }
}
