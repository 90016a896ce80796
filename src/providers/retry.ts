import { backoffMs, type RetryPolicy } from '../backoff.ts';
import type { Clock } from '../clock.ts';
import { isTransient, ProviderError } from './errors.ts';

export type { RetryPolicy };

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 8_000 };

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
