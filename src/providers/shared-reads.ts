import type { Clock } from '../clock.ts';

interface Entry {
  at: number;
  /** The newest request (run id) that existed when the read was sent: the answer knows of what it asked for. */
  covers: number;
  value: Promise<unknown>;
}

/**
 * Answers of slow-changing reads (which services exist, their domains, the DNS zones) shared by every run and kept
 * for a while: concurrent runs asking the same thing share one call, later ones reuse its answer until it is
 * `ttlMs` old. A failed read is not kept. A caller that sees the world contradict an answer forgets it.
 */
export class SharedReads {
  private readonly entries = new Map<string, Entry>();

  /** `newestRequest`: the id of the newest run, so that an answer can tell whether it was read after a request. */
  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly newestRequest: () => number,
  ) {}

  /**
   * The kept answer for `key`, or `load()`'s, kept from now on. With `after` (a run id), only an answer read after
   * that run was requested will do: one read before may not know what the requester just set up.
   */
  read<T>(key: string, load: () => Promise<T>, after?: number): Promise<T> {
    const now = this.clock.now();
    const kept = this.entries.get(key);
    const recentEnough = after === undefined || (kept !== undefined && kept.covers >= after);
    if (kept && recentEnough && now - kept.at < this.ttlMs) return kept.value as Promise<T>;
    const value = load();
    const entry = { at: now, covers: this.newestRequest(), value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Drops every answer whose key starts with `prefix`. */
  forget(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
