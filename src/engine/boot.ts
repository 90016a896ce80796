import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/index.ts';

/**
 * This process, as the other processes on the database see it: a boot id that owns its leases and outbox claims,
 * and a heartbeat. A holder is gone when it has not beaten for `staleMs`, or — on this very host and in this very
 * PID namespace, where its PID means something — when its process no longer exists (a crash, a kill: its runs are
 * taken over at once). Containers that share a hostname have PID namespaces of their own, so a live peer is never
 * mistaken for a dead one.
 */
export class Boot {
  readonly id = randomUUID();
  private readonly host = hostname();
  private readonly pidNs = pidNamespace();
  private heart: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly staleMs: number,
  ) {}

  /**
   * Registers this process and beats three times per `staleMs`, on a timer of its own: a poll cycle that steps runs
   * for minutes must not make the others take this live process for gone.
   */
  register(): void {
    const now = this.clock.now();
    this.store.processes.register(
      { id: this.id, host: this.host, pid: process.pid, pidNs: this.pidNs, startedAt: now },
      now,
    );
    this.heart ??= setInterval(() => this.beatIfAble(), this.staleMs / 3).unref();
  }

  beat(): void {
    this.store.processes.beat(this.id, this.clock.now());
  }

  leave(): void {
    clearInterval(this.heart);
    this.heart = undefined;
    this.store.processes.leave(this.id);
  }

  /** A beat the database refuses (busy, closed) is a silence: what the others then conclude is the truth. */
  private beatIfAble(): void {
    try {
      this.beat();
    } catch {
      // silence
    }
  }

  /** Whether the process that owns `holder` (a boot id) is gone. One that never registered (or left) is. */
  isGone(holder: string): boolean {
    if (holder === this.id) return false;
    const row = this.store.processes.get(holder);
    if (!row) return true;
    if (this.clock.now() - row.heartbeatAt > this.staleMs) return true;
    if (row.host !== this.host || row.pidNs === null || row.pidNs !== this.pidNs) return false;
    return !alive(row.pid);
  }
}

function pidNamespace(): string | null {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
