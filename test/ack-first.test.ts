import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckFirst } from '../src/slack/ack-first.ts';

/** Bounded waits on real timers: AckFirst is about the network, not the engine's clock. */
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('work waits while a request is being answered, and runs once the requests are quiet', async () => {
  const gate = new AckFirst(20, 10_000);
  const ran: string[] = [];
  const answered = gate.arrived();
  gate.defer(() => ran.push('first step'));
  await settle(60);
  assert.deepEqual(ran, [], 'held while the request is in flight');
  answered();
  const second = gate.arrived();
  second();
  await settle(5);
  assert.deepEqual(ran, [], 'another arrival restarts the quiet period');
  await settle(80);
  assert.deepEqual(ran, ['first step']);
});

test('steady traffic never starves the held work: it runs after maxWaitMs at the latest', async () => {
  const gate = new AckFirst(20, 100);
  let ran = false;
  gate.defer(() => {
    ran = true;
  });
  const started = performance.now();
  while (!ran && performance.now() - started < 2_000) {
    gate.arrived()();
    await settle(5);
  }
  assert.ok(ran, 'ran despite requests every 5 ms');
  assert.ok(performance.now() - started < 1_000);
});

test('flush runs what is held at once (shutdown)', () => {
  const gate = new AckFirst();
  const ran: number[] = [];
  gate.arrived();
  gate.defer(() => ran.push(1));
  gate.defer(() => ran.push(2));
  gate.flush();
  assert.deepEqual(ran, [1, 2]);
});

test('held work that throws is reported and does not stop the work after it (it runs from a timer, where a throw would end the process)', () => {
  const errors: unknown[] = [];
  const gate = new AckFirst(20, 100, (error) => errors.push(error));
  const ran: string[] = [];
  gate.defer(() => {
    throw new Error('database or disk is full');
  });
  gate.defer(() => ran.push('the next step'));
  gate.flush();
  assert.deepEqual(ran, ['the next step']);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /database or disk is full/);
});
