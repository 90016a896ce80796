import assert from 'node:assert/strict';
import type { Notice } from '../src/domain/notices.ts';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, isState, REQUESTER } from './harness.ts';

/** For the key lifecycle's tests: what a run said, an approval, a domain set up through the bot. */

export const said = (h: Harness, runId: number) =>
  h.core.store.outbox
    .forRun(runId)
    .map((m) => m.notice)
    .flatMap((n: Notice) => (n.type === 'reply' || n.type === 'records' ? [plainText(n.text)] : []))
    .join('\n');

export async function approve(h: Harness, runId: number) {
  const approval = h.core.store.approvals.latestForRun(runId)!;
  const decided = await h.ops.decide(approval.id, APPROVER, 'approved');
  assert.ok(decided.ok, plainText(decided.text));
  return approval;
}

/** A domain set up through the bot, in production. */
export async function setUp(
  h: Harness,
  domain: string,
  options: { pro?: boolean; newTargetOnRecreate?: boolean } = {},
) {
  const info = options.pro
    ? h.sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain, zone: true, ...options })
    : h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true, ...options });
  const run = (await h.ops.setup({ domain, user: REQUESTER, channel: 'C1' })).run!;
  await h.drive(isState('awaiting_approval'), run.id);
  await approve(h, run.id);
  assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
  return info;
}
