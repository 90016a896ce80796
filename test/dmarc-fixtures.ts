import assert from 'node:assert/strict';
import type { Notice } from '../src/domain/notices.ts';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, startHarness } from './harness.ts';
import { said } from './lifecycle-fixtures.ts';

/** For the DMARC tests: a harness with DMARC_RUA and mx.ovh.com's SPF in DNS, a run's card, an approval. */

export const RUA = 'dmarc-reports@reports.example.net';
const OVH_SPF = 'v=spf1 ip4:188.165.0.0/16 ip4:46.105.0.0/16 ~all';

export async function dmarcHarness(env: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const h = await startHarness({ env: { DMARC_RUA: RUA, ...env } });
  // What mx.ovh.com publishes, so that SPF look-ups through OVH's include are counted as a receiver counts them.
  h.sim.setExternalRecord('mx.ovh.com', 'TXT', OVH_SPF);
  return h;
}

export function card(h: Harness, runId: number): Extract<Notice, { type: 'approval_request' }> {
  const found = h.core.store.outbox
    .forRun(runId)
    .map((m) => m.notice)
    .findLast((n) => n.type === 'approval_request');
  assert.ok(found && found.type === 'approval_request', said(h, runId));
  return found;
}

export async function approveDmarc(h: Harness, runId: number) {
  const approval = h.core.store.approvals.latestForRun(runId);
  assert.ok(approval);
  const decided = await h.ops.decide(approval.id, APPROVER, 'approved');
  assert.ok(decided.ok, plainText(decided.text));
}
