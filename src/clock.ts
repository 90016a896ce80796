/** Time as the engine sees it: real in production, simulated in tests and the benchmark. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock that only moves when told to. `sleep` moves it forward by the time asked and resolves on the next turn of
 * the event loop, so callers that serialise their waits (the rate limiter does) see a consistent, monotonic time.
 */
export class FakeClock implements Clock {
  constructor(private current = Date.UTC(2026, 10, 22, 9, 0, 0)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (ms > 0) this.current += ms;
  }

  set(at: number): void {
    if (at > this.current) this.current = at;
  }

  sleep(ms: number): Promise<void> {
    this.advance(ms);
    return new Promise((resolve) => setImmediate(resolve));
  }
}
