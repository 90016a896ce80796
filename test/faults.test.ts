import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { secretValues } from '../src/config/index.ts';
import { maxInWindow } from './fixtures.ts';
import { APPROVER, isState, REQUESTER, startHarness } from './harness.ts';

test('with 25% 5xx and 10% 429 injected every run completes, within the rate limit', async () => {
  const enables = new Map<string, number>();
  const h = await startHarness({
    env: { OVH_RATE_LIMIT_PER_MIN: '20' },
    sim: {
      rateLimit: { perMinute: 20 },
      faults: { error5xxRate: 0.25, rate429: 0.1, afterEffectFailRate: 0.2, seed: 42 },
      afterEffect: ({ path }) => {
        const domain = /\/domain\/([^/]+)\/dkim\/[^/]+\/enable$/.exec(path)?.[1];
        if (domain) enables.set(domain, (enables.get(domain) ?? 0) + 1);
      },
    },
  });
  try {
    const domains = ['a.fr', 'b.fr', 'c.fr', 'd.fr'];
    for (const domain of domains) h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    const runIds: number[] = [];
    for (const domain of domains) runIds.push((await h.ops.setup({ domain, user: REQUESTER, channel: 'C1' })).run!.id);
    for (const runId of runIds) {
      const run = await h.drive(isState('awaiting_approval', 'failed'), runId, 2000);
      assert.equal(run.state, 'awaiting_approval', JSON.stringify(run));
      const approval = h.core.store.approvals.latestForRun(runId)!;
      // An approval whose re-check met an injected fault is refused; the next card is then approved.
      for (let i = 0; i < 10 && !(await h.ops.decide(approval.id, APPROVER, 'approved')).ok; i++) {
        const fresh = await h.drive(isState('awaiting_approval', 'enabling'), runId, 2000);
        if (fresh.state === 'enabling') break;
        approval.id = h.core.store.approvals.latestForRun(runId)!.id;
      }
    }
    for (const runId of runIds) {
      const run = await h.drive(isState('done', 'failed'), runId, 2000);
      assert.equal(run.state, 'done', run.lastError ?? '');
    }
    assert.ok(h.sim.injectedFaults > 10, `faults were injected (${h.sim.injectedFaults})`);
    assert.equal(h.sim.rateLimited429s, 0, 'the bot never exceeded the rate limit');
    assert.ok(maxInWindow(h.sim.requests.filter((r) => r.path !== '/auth/time').map((r) => r.at)) <= 20);
    for (const domain of domains) {
      assert.equal(
        h.sim.zoneRecords(domain).filter((r) => r.fieldType === 'CNAME').length,
        2,
        `${domain}: no duplicate`,
      );
      assert.equal(enables.get(domain), 1, `${domain}: enabled once`);
    }
  } finally {
    await h.close();
  }
});

test('secrets never reach the logs, the database or the messages', async () => {
  const h = await startHarness({ sim: { faults: { error5xxRate: 0.2, seed: 3 } } });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'secret.fr', zone: true });
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'other.fr', zone: true });
    const runId = (await h.ops.setup({ domain: 'secret.fr', user: REQUESTER, channel: 'C1' })).run!.id;
    await h.ops.setup({ domain: 'nothere.fr', user: REQUESTER, channel: 'C1' });
    await h.drive(isState('awaiting_approval', 'failed'), runId, 500);
    h.core.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const dbBytes = readFileSync(h.env.DATABASE_PATH!).toString('latin1');
    const logs = h.logLines.join('\n');
    assert.ok(logs.length > 0, 'something was logged');
    const secrets = secretValues(h.env);
    assert.ok(secrets.length >= 4);
    for (const secret of secrets) {
      assert.ok(!logs.includes(secret), `log leaks ${secret}`);
      assert.ok(!dbBytes.includes(secret), `database leaks ${secret}`);
    }
  } finally {
    await h.close();
  }
});
