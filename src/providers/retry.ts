import type { Clock } from '../clock.ts';
import { isTransient, ProviderError } from './errors.ts';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 8_000 };

/** Capped exponential backoff with full jitter; `random` is injectable so tests and the benchmark are repeatable. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `call` again while it fails with a transient error and `retryable` agrees, waiting between attempts.
 * The last error is rethrown as it was.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: { policy: RetryPolicy; clock: Clock; random?: () => number; retryable?: (error: unknown) => boolean },
): Promise<T> {
  const retryable = options.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt + 1 >= options.policy.attempts || !retryable(error)) throw error;
      const hinted = error instanceof ProviderError ? (error.details.retryAfterMs ?? 0) : 0;
      await options.clock.sleep(Math.max(hinted, backoffMs(attempt, options.policy, options.random)));
    }
  }
}
