/** Capped exponential backoff with full jitter, for every retry loop (providers, the Slack notifier). */

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** `random` is injectable so tests and the benchmark are repeatable. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
