import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs } from '../src/backoff.ts';
import { FakeClock } from '../src/clock.ts';
import { RateLimiter } from '../src/providers/ratelimit.ts';
import { DEFAULT_RETRY } from '../src/providers/retry.ts';
import { maxInWindow } from './fixtures.ts';

test('no 60-second window holds more grants than the limit, even with 500 concurrent callers', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(60, clock);
  const grants: number[] = [];
  await Promise.all(
    Array.from({ length: 500 }, async () => {
      const release = await limiter.acquire();
      grants.push(clock.now());
      release();
    }),
  );
  assert.equal(grants.length, 500);
  assert.ok(maxInWindow(grants) <= 60 && maxInWindow(grants) >= 55);
  const elapsed = Math.max(...grants) - Math.min(...grants);
  assert.ok(elapsed >= 8 * 60_000 && elapsed < 9 * 60_000, `took ${elapsed} ms of simulated time`);
});

test('backoff grows, is capped and is jittered within bounds', () => {
  const low = () => 0;
  const high = () => 0.999;
  assert.equal(backoffMs(0, DEFAULT_RETRY, low), 250);
  assert.ok(backoffMs(3, DEFAULT_RETRY, high) <= 4000);
  assert.ok(backoffMs(20, DEFAULT_RETRY, high) <= DEFAULT_RETRY.maxMs);
  assert.ok(backoffMs(20, DEFAULT_RETRY, low) >= DEFAULT_RETRY.maxMs / 2);
});
