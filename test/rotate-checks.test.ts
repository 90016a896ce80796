import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Harness, isState, REQUESTER, startHarness } from './harness.ts';
import { approve, said, setUp } from './lifecycle-fixtures.ts';

/**
 * A rotation never leaves a domain unsigned behind its own back: the spare B is read again before the old key is
 * deleted, before it is made again, and before the rotation says it is done. Its card says who changes a target.
 */

type Call = { method: string; path: string; body: unknown };

/** Turns B off at OVH (someone in the OVH manager) right after the bot's call `when` took effect. */
function spareOffAfter(h: Harness, domain: string, spare: string, when: (call: Call) => boolean): void {
  h.sim.afterEffect = (call) => {
    if (when(call)) h.sim.setSelectorStatus(domain, spare, 'ready');
  };
}

async function rotateUntilApproved(h: Harness, domain: string) {
  const run = (await h.ops.rotate({ domain, user: REQUESTER, channel: 'C1' })).run!;
  const waiting = await h.drive(isState('awaiting_approval', 'failed'), run.id);
  assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
  await approve(h, run.id);
  return run;
}

test('the spare turned off once the old key is disabled: the old key is not deleted', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const [a, b] = (await setUp(h, 'del.fr')).selectors;
    spareOffAfter(h, 'del.fr', b!, (c) => c.method === 'POST' && c.path.endsWith(`/dkim/${a}/disable`));
    const run = await rotateUntilApproved(h, 'del.fr');
    const stopped = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(stopped.state, 'failed');
    assert.match(stopped.lastError ?? '', new RegExp(`\`${b}\` no longer signs at OVH \\(status ready\\)`));
    assert.equal(h.sim.count('DELETE', new RegExp(`/dkim/${a}$`)), 0, 'A kept its key');
  } finally {
    await h.close();
  }
});

test('the spare turned off once the old key is deleted: no fresh key is made', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const [a, b] = (await setUp(h, 'rekey.fr')).selectors;
    spareOffAfter(h, 'rekey.fr', b!, (c) => c.method === 'DELETE' && c.path.endsWith(`/dkim/${a}`));
    const before = h.sim.requests.length;
    const run = await rotateUntilApproved(h, 'rekey.fr');
    const stopped = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(stopped.state, 'failed');
    assert.match(stopped.lastError ?? '', new RegExp(`\`${b}\` no longer signs at OVH`));
    const keyed = h.sim.requests.slice(before).filter((r) => r.method === 'POST' && /\/dkim$/.test(r.path));
    assert.ok(
      keyed.every((r) => (r.body as { selectorName?: string }).selectorName !== a),
      'no fresh key for A',
    );
  } finally {
    await h.close();
  }
});

test('the spare turned off while the fresh key is made: the rotation does not say it is done', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const [a, b] = (await setUp(h, 'end.fr')).selectors;
    spareOffAfter(
      h,
      'end.fr',
      b!,
      (c) =>
        c.method === 'POST' && c.path.endsWith('/dkim') && (c.body as { selectorName?: string }).selectorName === a,
    );
    const run = await rotateUntilApproved(h, 'end.fr');
    const stopped = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(stopped.state, 'failed');
    assert.doesNotMatch(said(h, run.id), /Rotation done/);
    assert.match(stopped.lastError ?? '', new RegExp(`\`${b}\` no longer signs at OVH`));
  } finally {
    await h.close();
  }
});

test('the rotation card of a domain whose zone is elsewhere says a changed target is handed over, not updated by the bot', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const info = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'away.fr' });
    for (const [i, s] of info.selectors.entries()) {
      h.sim.setSelectorStatus('away.fr', s, i === 0 ? 'inProduction' : 'ready');
      const key = h.sim.selector('away.fr', s)!;
      h.sim.setExternalRecord(`${s}._domainkey.away.fr`, 'CNAME', key.targetRecord);
    }
    const run = (await h.ops.rotate({ domain: 'away.fr', user: REQUESTER, channel: 'C1' })).run!;
    assert.equal((await h.drive(isState('awaiting_approval', 'failed'), run.id)).state, 'awaiting_approval');
    const card = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'approval_request')!.notice;
    assert.ok(card.type === 'approval_request');
    assert.match(card.lines.join('\n'), /a changed target handed to you/);
    assert.doesNotMatch(card.lines.join('\n'), /updated by the bot/);
  } finally {
    await h.close();
  }
});
