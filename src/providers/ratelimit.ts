import type { Clock } from '../clock.ts';

/** Where the budget's slots are kept: the database, so that every process on it shares one budget. */
export interface SlotBook {
  /** A slot if one is free now; else what holds them: slots in flight, and when the oldest answered one was. */
  take(now: number): { slot: number } | { inFlight: number; oldestDoneAt: number | undefined };
  done(slot: number, now: number): void;
}

/** How often a process looks again when the budget is held by calls of other processes still in flight. */
const OTHERS_POLL_MS = 200;

/**
 * At most `perMinute` requests in any 60-second window *as the server counts them, on arrival*, for every process
 * on the database together (the bot, the CLI). A request holds its slot from the moment it is granted until 60 s
 * after its answer came back: whatever the network's delay, two requests that arrive within one window were both
 * holding a slot when the later one was granted. Waiters of a process are served in arrival order and only the head of
 * its queue waits, so a simulated clock moves monotonically.
 */
export class RateLimiter {
  private inFlight = 0;
  private queue: Promise<void> = Promise.resolve();
  private wake?: () => void;

  constructor(
    readonly perMinute: number,
    private readonly clock: Clock,
    private readonly slots: SlotBook,
    private readonly windowMs = 60_000,
  ) {}

  /** Resolves with the function to call once the request's answer (or failure) is in. */
  acquire(): Promise<() => void> {
    const turn = this.queue.then(() => this.takeSlot());
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn.then((slot) => this.releaser(slot));
  }

  private releaser(slot: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.slots.done(slot, this.clock.now());
      this.wake?.();
    };
  }

  private async takeSlot(): Promise<number> {
    for (;;) {
      const now = this.clock.now();
      const taken = this.slots.take(now);
      if ('slot' in taken) {
        this.inFlight++;
        return taken.slot;
      }
      // Full: let the requests in flight come back first (their slots' expiry depends on when), then sleep.
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.wake = resolve));
      else if (taken.inFlight > 0) await this.clock.sleep(OTHERS_POLL_MS);
      else await this.clock.sleep(Math.max(1, (taken.oldestDoneAt ?? now) + this.windowMs - now));
      this.wake = undefined;
    }
  }
}
