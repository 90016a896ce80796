/** "Resolve when this holds": probes re-run after every change a simulator notifies, each bounded by a timeout. */

interface Waiter {
  check(): void;
  abort(): void;
}

export class Waiters {
  private readonly pending = new Set<Waiter>();

  /** `name` prefixes the messages: `<name>.waitFor: condition not met …`, `<name> closed while waiting`. */
  constructor(private readonly name: string) {}

  /** Resolves with the first truthy value `probe` returns, probing now and on every `notify()`. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs: number, what = 'condition'): Promise<T> {
    const immediate = probe();
    if (immediate) return Promise.resolve(immediate);
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (!value) return;
          finish();
          resolve(value);
        },
        abort: () => {
          finish();
          reject(new Error(`${this.name} closed while waiting`));
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}.waitFor: ${what} not met within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.add(waiter);
    });
  }

  notify(): void {
    for (const waiter of [...this.pending]) waiter.check();
  }

  /** Rejects every pending wait. */
  abortAll(): void {
    for (const waiter of [...this.pending]) waiter.abort();
  }
}
