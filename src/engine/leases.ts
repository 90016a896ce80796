import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { ProviderError } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';

/**
 * Leases on runs: a run is stepped by one process at a time. A lease held by a process of this host that no longer
 * exists (killed, crashed) is taken over at once instead of waiting for it to expire; holders elsewhere are waited for.
 */
export class Leases {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  /** Takes the run, or false when a live holder has it. */
  claim(runId: number): boolean {
    const { runs } = this.store;
    const now = this.clock.now();
    if (runs.claim(runId, this.owner, now, now + this.leaseMs)) return true;
    const holder = runs.leaseOwner(runId);
    if (!holder || !holderIsDead(holder)) return false;
    this.log.warn('taking over the lease of a dead process', { runId, holder });
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
    return runs.leased(runId, this.clock.now()) && !(holder && holderIsDead(holder));
  }
}

export function defaultOwner(): string {
  return `${hostname()}:${process.pid}`;
}

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
