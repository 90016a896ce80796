/**
 * Slack delivers an envelope again when it did not see the ack (Socket Mode after a dropped link, HTTP retries of
 * events). The first delivery's answer is kept for a while, keyed by what identifies the request (a slash command's
 * or a click's trigger id, an event id), so that a redelivery gets the same answer and changes nothing twice.
 */
export class Deliveries {
  private readonly answers = new Map<string, { at: number; answer: Promise<unknown> }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly keepMs = 30 * 60_000,
    private readonly max = 5_000,
  ) {}

  /**
   * `work()`'s answer for the first delivery of `key` (`first: true`); for a redelivery the same answer, without
   * running `work` again (`first: false`).
   */
  async once<T>(key: string | undefined, work: () => Promise<T> | T): Promise<{ value: T; first: boolean }> {
    if (!key) return { value: await work(), first: true };
    this.prune();
    const kept = this.answers.get(key);
    if (kept) return { value: (await kept.answer) as T, first: false };
    const answer = Promise.resolve().then(work);
    this.answers.set(key, { at: this.now(), answer });
    return { value: await answer, first: true };
  }

  /** Whether `key` was delivered before (its answer is kept). */
  seen(key: string): boolean {
    this.prune();
    return this.answers.has(key);
  }

  private prune(): void {
    const oldest = this.now() - this.keepMs;
    for (const [key, kept] of this.answers) {
      if (kept.at >= oldest && this.answers.size < this.max) break;
      this.answers.delete(key);
    }
  }
}
