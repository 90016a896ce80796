import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backoffMs } from '../src/backoff.ts';
import { FakeClock } from '../src/clock.ts';
import { RateLimiter } from '../src/providers/ratelimit.ts';
import { DEFAULT_RETRY } from '../src/providers/retry.ts';
import { Store } from '../src/store/index.ts';
import { maxInWindow } from './fixtures.ts';

/** A process's view of the shared OVH budget, on the database at `path`. */
function limiterOn(store: Store, clock: FakeClock, owner: string): RateLimiter {
  const limits = { limit: 60, windowMs: 60_000, maxCallMs: 10_000 };
  return new RateLimiter(60, clock, {
    take: (now) => store.budget.take('budget-1', owner, now, limits),
    done: (slot, now) => store.budget.done(slot, now),
  });
}

function freshStore(): Store {
  return Store.open(join(mkdtempSync(join(tmpdir(), 'dkim-limit-')), 'db.sqlite'));
}

test('no 60-second window holds more grants than the limit, even with 500 concurrent callers', async () => {
  const clock = new FakeClock();
  const limiter = limiterOn(freshStore(), clock, 'boot-a');
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

test('two processes on one database share one budget: together they stay within the limit', async () => {
  const clock = new FakeClock();
  const path = join(mkdtempSync(join(tmpdir(), 'dkim-limit-')), 'db.sqlite');
  const [a, b] = [Store.open(path), Store.open(path)];
  const grants: number[] = [];
  const call = async (limiter: RateLimiter) => {
    const release = await limiter.acquire();
    grants.push(clock.now());
    release();
  };
  const bot = limiterOn(a, clock, 'boot-bot');
  const cli = limiterOn(b, clock, 'boot-cli');
  await Promise.all(Array.from({ length: 150 }, (_, i) => call(i % 2 ? bot : cli)));
  assert.equal(grants.length, 150);
  assert.ok(maxInWindow(grants) <= 60, `${maxInWindow(grants)} in one window`);
  a.close();
  b.close();
});

test('a slot of a process that died mid-call is freed once the longest call would have ended', () => {
  const store = freshStore();
  const limits = { limit: 1, windowMs: 60_000, maxCallMs: 10_000 };
  assert.ok('slot' in store.budget.take('b', 'dead', 0, limits));
  const held = store.budget.take('b', 'alive', 5_000, limits);
  assert.ok(!('slot' in held) && held.inFlight === 1, 'still in flight');
  assert.ok(!('slot' in store.budget.take('b', 'alive', 30_000, limits)), 'counted as answered at 10 s, for a minute');
  assert.ok('slot' in store.budget.take('b', 'alive', 70_001, limits));
});

test('backoff grows, is capped and is jittered within bounds', () => {
  const low = () => 0;
  const high = () => 0.999;
  assert.equal(backoffMs(0, DEFAULT_RETRY, low), 250);
  assert.ok(backoffMs(3, DEFAULT_RETRY, high) <= 4000);
  assert.ok(backoffMs(20, DEFAULT_RETRY, high) <= DEFAULT_RETRY.maxMs);
  assert.ok(backoffMs(20, DEFAULT_RETRY, low) >= DEFAULT_RETRY.maxMs / 2);
});
