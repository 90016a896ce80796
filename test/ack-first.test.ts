import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckFirst } from '../src/slack/ack-first.ts';
import { REQUESTER, startHarness } from './harness.ts';

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

test('a poll cycle that began before a burst steps none of its runs while the burst is being answered', async () => {
  const gate = new AckFirst(10, 10_000);
  const h = await startHarness({ core: { defer: (work) => gate.defer(work), concurrency: 1 } });
  try {
    for (const domain of ['first.fr', 'second.fr']) {
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
      assert.ok((await h.ops.setup({ domain, user: REQUESTER, channel: 'C1' })).ok);
    }
    await h.core.engine.idle();
    const due = Math.max(...h.core.store.runs.listActive().map((r) => r.nextCheckAt ?? 0));
    h.clock.set(due);
    const versions = () => h.core.store.runs.listActive().map((r) => r.version);
    const before = versions();
    const cycle = h.core.engine.tick();
    // The burst arrives as the cycle begins: its steps wait for the acks.
    const answered = gate.arrived();
    await settle(150);
    assert.deepEqual(versions(), before, 'no step while a command is being answered');
    answered();
    assert.equal(await cycle, 2);
    assert.ok(
      versions().every((version, i) => version > (before[i] ?? 0)),
      'then the cycle steps its runs',
    );
  } finally {
    await h.close();
  }
});

test("a burst's runs wait for their first step as one piece of held work, and all step once it is answered", async () => {
  const gate = new AckFirst(10, 10_000);
  let held = 0;
  const h = await startHarness({
    core: {
      defer: (work) => {
        held++;
        gate.defer(work);
      },
    },
  });
  try {
    const answered = gate.arrived();
    const domains = ['one.fr', 'two.fr', 'three.fr'];
    for (const domain of domains) h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    const replies = await Promise.all(domains.map((domain) => h.ops.setup({ domain, user: REQUESTER, channel: 'C1' })));
    assert.ok(replies.every((reply) => reply.ok));
    assert.equal(held, 1, 'three runs kicked, one pass held');
    assert.deepEqual(
      h.core.store.runs.listActive().map((run) => run.version),
      [0, 0, 0],
      'no step while the burst is being answered',
    );
    answered();
    await h.core.engine.idle();
    assert.ok(h.core.store.runs.listActive().every((run) => run.version > 0));
  } finally {
    await h.close();
  }
});
