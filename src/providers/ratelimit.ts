import type { Clock } from '../clock.ts';

/**
 * A sliding-window limiter: at most `perMinute` grants in any half-open 60-second window. Waiters are served in
 * arrival order and only the head of the queue sleeps, so a simulated clock advances monotonically.
 */
export class RateLimiter {
  private readonly grants: number[] = [];
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  acquire(): Promise<void> {
    this.waiting++;
    const turn = this.queue.then(() => this.takeSlot());
    this.queue = turn.catch(() => undefined);
    return turn.finally(() => {
      this.waiting--;
    });
  }

  /** Requests waiting for a slot: a figure for the App Home and the benchmark. */
  get queued(): number {
    return this.waiting;
  }

  private async takeSlot(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      while (this.grants.length > 0 && this.grants[0]! <= now - this.windowMs) this.grants.shift();
      if (this.grants.length < this.perMinute) {
        this.grants.push(now);
        return;
      }
      await this.clock.sleep(this.grants[0]! + this.windowMs - now);
    }
  }
}
