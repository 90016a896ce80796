import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../src/log.ts';
import { Poller, tickIntervalMs } from '../src/poller.ts';

test('a poller cycle never overlaps the previous one, and a failing job does not stop the others', async () => {
  let release!: () => void;
  let runs = 0;
  let after = 0;
  const poller = new Poller(
    '* * * * *',
    [
      {
        name: 'slow',
        run: () =>
          new Promise<void>((resolve) => {
            release = resolve;
            runs++;
          }),
      },
      { name: 'broken', run: async () => Promise.reject(new Error('boom')) },
      { name: 'after', run: async () => void after++ },
    ],
    silentLogger,
  );
  const first = poller.cycle();
  const second = poller.cycle();
  assert.equal(runs, 1, 'the second tick found the first still running');
  assert.equal(poller.skipped, 1);
  release();
  await Promise.all([first, second]);
  assert.equal(after, 1);
  const third = poller.cycle();
  release();
  await third;
  assert.equal(poller.cycles, 2);
});

test('the first recheck wait is one poller tick', () => {
  assert.equal(tickIntervalMs('* * * * *'), 60_000);
  assert.equal(tickIntervalMs('*/10 * * * * *'), 10_000);
});
