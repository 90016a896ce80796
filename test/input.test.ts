import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { HOSTILE_DOMAINS } from './fixtures.ts';
import { REQUESTER, startHarness } from './harness.ts';

test('bad domain input: a clear reply, no row, no OVH call', async () => {
  const h = await startHarness();
  try {
    const countRows = () =>
      (
        h.core.store.db.prepare('SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM outbox) AS n').get() as {
          n: number;
        }
      ).n;
    for (const input of HOSTILE_DOMAINS) {
      for (const reply of [
        await h.ops.setup({ domain: input, user: REQUESTER, channel: 'C1' }),
        await h.ops.cancel([input], REQUESTER),
        await h.ops.retry([input], REQUESTER),
        h.ops.status([input || ' ']),
      ]) {
        assert.equal(reply.ok, false, `accepted ${JSON.stringify(input)}`);
        assert.ok(plainText(reply.text).length > 10);
      }
    }
    await h.core.engine.idle();
    assert.equal(countRows(), 0, 'nothing written');
    assert.equal(h.sim.requests.length, 0, 'no OVH call');
  } finally {
    await h.close();
  }
});

test('IDN input: shown in Unicode, the API gets punycode', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'xn--caf-dma.fr', zone: true });
    const reply = await h.ops.setup({ domain: 'Café.fr', user: REQUESTER, channel: 'C1' });
    assert.ok(reply.ok, plainText(reply.text));
    assert.match(plainText(reply.text), /café\.fr \(xn--caf-dma\.fr\)/);
    await h.core.engine.idle();
    const paths = h.sim.requests.map((r) => r.path).filter((p) => p.includes('caf'));
    assert.ok(paths.length > 0 && paths.every((p) => p.includes('xn--caf-dma.fr')), paths.join('\n'));
  } finally {
    await h.close();
  }
});

test('a second setup for a domain with an active run starts nothing', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'busy.fr', zone: true });
    const first = await h.ops.setup({ domain: 'busy.fr', user: REQUESTER, channel: 'C1' });
    await h.core.engine.idle();
    const calls = h.sim.requests.length;
    const second = await h.ops.setup({ domain: 'BUSY.fr.', user: 'USOMEONE', channel: 'C2' });
    assert.equal(second.ok, false);
    assert.match(plainText(second.text), /already running \(run #\d+/);
    assert.equal(second.run?.id, first.run?.id);
    await h.core.engine.idle();
    assert.equal(h.sim.requests.length, calls);
    assert.equal(h.core.store.runs.count(), 1);
  } finally {
    await h.close();
  }
});

test('OVH not configured: a clear reply and nothing written', async () => {
  const h = await startHarness({ env: { OVH_APP_KEY: '', OVH_APP_SECRET: '', OVH_CONSUMER_KEY: '' } });
  try {
    const reply = await h.ops.setup({ domain: 'example.fr', user: REQUESTER, channel: 'C1' });
    assert.equal(reply.ok, false);
    assert.match(plainText(reply.text), /OVH is not configured/);
    assert.equal(h.core.store.runs.count(), 0);
  } finally {
    await h.close();
  }
});
