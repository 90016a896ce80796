import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, isState, OUTSIDER, REQUESTER, startHarness } from './harness.ts';

async function readyRun(h: Harness, domain: string): Promise<{ runId: number; approvalId: number }> {
  h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
  const started = await h.ops.setup({ domain, user: REQUESTER, channel: 'C1' });
  assert.ok(started.ok, plainText(started.text));
  const run = await h.drive(isState('awaiting_approval', 'failed'), started.run!.id);
  assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
  return { runId: run.id, approvalId: h.core.store.approvals.latestForRun(run.id)!.id };
}

test('self-approval and non-approvers are refused; the card stays usable', async () => {
  const h = await startHarness();
  try {
    const { runId, approvalId } = await readyRun(h, 'self.fr');
    const self = await h.ops.decide(approvalId, REQUESTER, 'approved');
    assert.equal(self.ok, false);
    assert.match(plainText(self.text), /someone else must approve/);
    const outsider = await h.ops.decide(approvalId, OUTSIDER, 'approved');
    assert.equal(outsider.ok, false);
    assert.match(plainText(outsider.text), /Only <@UAPPROVER>/);
    assert.equal(h.core.store.approvals.get(approvalId)?.status, 'pending');
    assert.equal(h.core.store.runs.get(runId)?.state, 'awaiting_approval');
    assert.equal(h.sim.count('POST', /\/enable$/), 0);
    const refused = h.core.store.events.forRun(runId).filter((e) => e.type === 'decision_refused');
    assert.equal(refused.length, 2, 'refusals are in the audit trail');
  } finally {
    await h.close();
  }
});

test('self-approval when configured; a member of an approver group may approve', async () => {
  const h = await startHarness({
    env: { DKIM_ALLOW_SELF_APPROVAL: 'true', DKIM_APPROVERS: 'SGROUP' },
    directory: { membersOf: async (group) => (group === 'SGROUP' ? [REQUESTER, 'UMEMBER'] : []) },
  });
  try {
    const first = await readyRun(h, 'group.fr');
    assert.ok((await h.ops.decide(first.approvalId, 'UMEMBER', 'approved')).ok);
    const second = await readyRun(h, 'own.fr');
    assert.ok((await h.ops.decide(second.approvalId, REQUESTER, 'approved')).ok);
    assert.equal((await h.drive(isState('done'), second.runId)).state, 'done');
  } finally {
    await h.close();
  }
});

test('no approvers configured: nobody can approve', async () => {
  const h = await startHarness({ env: { DKIM_APPROVERS: '' } });
  try {
    const { approvalId } = await readyRun(h, 'nobody.fr');
    const reply = await h.ops.decide(approvalId, APPROVER, 'approved');
    assert.equal(reply.ok, false);
    assert.match(plainText(reply.text), /no approvers are configured/);
  } finally {
    await h.close();
  }
});

test('two concurrent approvals enable exactly once', async () => {
  const h = await startHarness();
  try {
    const { runId, approvalId } = await readyRun(h, 'twice.fr');
    const replies = await Promise.all([
      h.ops.decide(approvalId, APPROVER, 'approved'),
      h.ops.decide(approvalId, APPROVER, 'approved'),
      h.ops.decide(approvalId, 'UAPPROVER', 'approved'),
    ]);
    assert.equal(replies.filter((r) => r.ok).length, 1, replies.map((r) => r.text).join(' | '));
    assert.match(plainText(replies.find((r) => !r.ok)!.text), /Already approved by <@UAPPROVER>/);
    assert.equal((await h.drive(isState('done'), runId)).state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
    const late = await h.ops.decide(approvalId, APPROVER, 'approved');
    assert.equal(late.ok, false);
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
  } finally {
    await h.close();
  }
});

test('an approval after the status changed is refused with the reason; the run then sees the truth', async () => {
  const h = await startHarness();
  try {
    const { runId, approvalId } = await readyRun(h, 'changed.fr');
    const signing = h.core.store.approvals.get(approvalId)!.snapshot.selector as string;
    // Someone enabled DKIM in the OVH console while the card was waiting.
    h.sim.setSelectorStatus('changed.fr', signing, 'inProduction');
    const reply = await h.ops.decide(approvalId, APPROVER, 'approved');
    assert.equal(reply.ok, false);
    assert.match(plainText(reply.text), /no longer ready at OVH \(status is now inProduction\)/);
    assert.equal(h.core.store.approvals.get(approvalId)?.status, 'superseded');
    const done = await h.drive(isState('done', 'failed'), runId);
    assert.equal(done.state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 0, 'nothing to enable: it was already in production');
  } finally {
    await h.close();
  }
});

test('reject ends the run rejected; an expired card cannot be used and retry posts a fresh one', async () => {
  const h = await startHarness();
  try {
    const rejected = await readyRun(h, 'reject.fr');
    assert.ok((await h.ops.decide(rejected.approvalId, APPROVER, 'rejected')).ok);
    assert.equal(h.core.store.runs.get(rejected.runId)?.state, 'rejected');

    const expiring = await readyRun(h, 'expire.fr');
    h.clock.advance(25 * 3_600_000);
    await h.core.engine.tick();
    assert.equal(h.core.store.approvals.get(expiring.approvalId)?.status, 'expired');
    const late = await h.ops.decide(expiring.approvalId, APPROVER, 'approved');
    assert.match(plainText(late.text), /expired/);
    assert.ok((await h.ops.retry(['expire.fr'], REQUESTER)).ok);
    await h.drive(isState('awaiting_approval'), expiring.runId);
    const fresh = h.core.store.approvals.latestForRun(expiring.runId)!;
    assert.notEqual(fresh.id, expiring.approvalId);
    assert.ok((await h.ops.decide(fresh.id, APPROVER, 'approved')).ok);
    assert.equal((await h.drive(isState('done'), expiring.runId)).state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
  } finally {
    await h.close();
  }
});

test('a retry while enabling never sends a second enable', async () => {
  const h = await startHarness({ sim: { enableDelayMs: 60 * 60_000 } });
  try {
    const { runId, approvalId } = await readyRun(h, 'retrying.fr');
    assert.ok((await h.ops.decide(approvalId, APPROVER, 'approved')).ok);
    const answered = (calls: unknown) =>
      Object.entries((calls ?? {}) as Record<string, { answeredAt?: number }>).some(
        ([key, call]) => key.startsWith('enable:') && call.answeredAt !== undefined,
      );
    await h.drive((run) => answered(run.facts.calls), runId);
    assert.ok((await h.ops.retry(['retrying.fr'], REQUESTER)).ok);
    assert.equal((await h.drive(isState('done', 'failed'), runId)).state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
  } finally {
    await h.close();
  }
});

test('a cancel during a step: the step is dropped, but what it did at OVH is recorded and said', async () => {
  const h = await startHarness();
  try {
    const { runId, approvalId } = await readyRun(h, 'cancelled.fr');
    h.sim.onRequest = async ({ method, path }) => {
      if (method === 'POST' && path.endsWith('/enable')) await h.ops.cancel(['cancelled.fr'], REQUESTER);
    };
    assert.ok((await h.ops.decide(approvalId, APPROVER, 'approved')).ok);
    await h.core.engine.idle();
    assert.equal(h.core.store.runs.get(runId)?.state, 'cancelled');
    const events = h.core.store.events.forRun(runId);
    assert.ok(events.some((e) => e.type === 'ovh_call' && String(e.detail.path).endsWith('/enable')));
    const said = h.core.store.outbox.forRun(runId).map((m) => (m.notice.type === 'reply' ? m.notice.text : ''));
    assert.ok(
      said.some((t) => /already been carried out at OVH: `POST .*\/enable`/.test(plainText(t))),
      said.join('\n'),
    );
  } finally {
    await h.close();
  }
});
