import type { Clock } from '../clock.ts';

/**
 * At most `perMinute` requests in any 60-second window *as the server counts them, on arrival*. A request holds its
 * slot from the moment it is granted until 60 s after its answer came back: whatever the network's delay, two
 * requests that arrive within one window were both holding a slot when the later one was granted.
 * Waiters are served in arrival order and only the head of the queue waits, so a simulated clock moves monotonically.
 */
export class RateLimiter {
  private readonly finished: number[] = [];
  private inFlight = 0;
  private queue: Promise<void> = Promise.resolve();
  private wake?: () => void;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  /** Resolves with the function to call once the request's answer (or failure) is in. */
  acquire(): Promise<() => void> {
    const turn = this.queue.then(() => this.takeSlot());
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn.then(() => this.releaser());
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.finished.push(this.clock.now());
      this.wake?.();
    };
  }

  private async takeSlot(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      while ((this.finished[0] ?? Number.POSITIVE_INFINITY) <= now - this.windowMs) this.finished.shift();
      if (this.inFlight + this.finished.length < this.perMinute) {
        this.inFlight++;
        return;
      }
      // Full: let the requests in flight come back first (their slots' expiry depends on when), then sleep.
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.wake = resolve));
      else await this.clock.sleep((this.finished[0] ?? now) + this.windowMs - now);
      this.wake = undefined;
    }
  }
}
