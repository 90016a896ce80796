import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { Operations } from '../src/operations/index.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { card, text } from './slack-flows.ts';
import { type SlackHarness, type SlackMode, startSlackHarness } from './slack-harness.ts';

/**
 * A failed order keeps its transfer code only for BATCH_CODE_TTL_DAYS: then the code goes, the thread says so, and a
 * retry says a fresh order is needed. A failed order can be cancelled, before or after.
 */

const AUTHINFO = 'Tr4nsfer-C0de-77aa';
const DAY_MS = 86_400_000;

async function failedTransfer(h: SlackHarness, domain: string) {
  const ops = new Operations(h.bot.core);
  const contacts = { tech: 'ab1-ovh', admin: 'ab1-ovh', billing: 'ab1-ovh' };
  const started = await ops.startBatch(
    { command: 'transfer', domain, authinfo: AUTHINFO, owner: { id: 'ab1-ovh' }, ...contacts },
    REQUESTER,
    'C1',
  );
  assert.ok(started.ok, plainText(started.text));
  h.smtp.behaviour = 'refuseRecipient';
  const run = await h.drive(isState('awaiting_approval'), started.run!.id);
  await h.click(card(h, 'C1', run.threadTs!), APPROVE_ACTION, APPROVER);
  const failed = await h.drive(isState('failed', 'needs_attention', 'done'), run.id);
  assert.equal(failed.state, 'failed', failed.lastError ?? '');
  h.smtp.behaviour = 'accept';
  return failed;
}

/** Every row of every table the code could be kept in. */
function everythingStored(h: SlackHarness): string {
  const { db } = h.bot.core.store;
  return ['runs', 'events', 'outbox', 'approvals']
    .map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all()))
    .join('\n');
}

for (const mode of ['http', 'socket'] as SlackMode[]) {
  const label = mode === 'http' ? 'HTTP mode' : 'Socket Mode';

  test(`${label}: a failed order's transfer code is dropped after BATCH_CODE_TTL_DAYS; retry then asks for a fresh order, and cancel ends it`, async () => {
    const h = await startSlackHarness({
      mode,
      env: {
        OVH_BATCH_TECH_ID: 'ab1-ovh',
        OVH_BATCH_ADMIN_ID: 'ab1-ovh',
        OVH_BATCH_BILLING_ID: 'ab1-ovh',
        BATCH_CODE_TTL_DAYS: '3',
      },
    });
    try {
      const run = await failedTransfer(h, 'kept.com');
      assert.ok(everythingStored(h).includes(AUTHINFO), 'kept while a retry may send it');

      h.clock.advance(2 * DAY_MS);
      await h.bot.core.housekeeping();
      assert.ok(everythingStored(h).includes(AUTHINFO), 'not before BATCH_CODE_TTL_DAYS');

      h.clock.advance(2 * DAY_MS);
      await h.bot.core.housekeeping();
      await h.bot.notifier.drain();
      assert.ok(!everythingStored(h).includes(AUTHINFO), 'the code is gone from every table');
      const thread = h.slack.thread('C1', run.threadTs!).map(text).join('\n');
      assert.match(thread, /transfer code and the owner's details of this order were deleted: it waited 3 days/);

      const approvals = h.bot.core.store.approvals.forRun(run.id).length;
      const retried = await h.command('retry batch kept.com');
      assert.match(retried.json?.text ?? '', /start a fresh order with `\/dkim batch …`/);
      assert.equal(h.bot.core.store.runs.get(run.id)?.state, 'failed', 'the refused retry changed nothing');
      assert.equal(h.bot.core.store.approvals.forRun(run.id).length, approvals, 'no new approval');
      assert.equal(h.smtp.mails.length, 0, 'nothing sent');

      await h.bot.core.housekeeping();
      assert.equal(
        h.bot.core.store.events.forRun(run.id).filter((e) => e.type === 'private_params_dropped').length,
        1,
        'dropped once, said once',
      );

      const cancelled = await h.command('cancel batch kept.com');
      assert.match(cancelled.json?.text ?? '', /Cancelled the batch run for kept\.com/);
      const ended = await h.drive(isState('cancelled'), run.id);
      assert.equal(ended.state, 'cancelled');
    } finally {
      await h.close();
    }
  });

  test(`${label}: a failed order can be cancelled at once`, async () => {
    const h = await startSlackHarness({
      mode,
      env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' },
    });
    try {
      const run = await failedTransfer(h, 'gone.com');
      assert.match((await h.command('cancel batch gone.com')).json?.text ?? '', /Cancelled the batch run/);
      assert.equal((await h.drive(isState('cancelled'), run.id)).state, 'cancelled');
      assert.ok(!everythingStored(h).includes(AUTHINFO), 'a cancelled order keeps no code');
      const again = await h.command('retry batch gone.com');
      assert.match(again.json?.text ?? '', /is cancelled; start a new one instead/);
    } finally {
      await h.close();
    }
  });
}
