import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMailer, mailerFor, smtpOptions } from '../src/providers/mail.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { SmtpSim } from './sim/smtp.ts';
import { card, text } from './slack-flows.ts';
import { latestRun, type SlackHarness, startSlackHarness } from './slack-harness.ts';

/**
 * A batch order costs money: it is sent at most once, and the bot says "not sent" only when the mail server
 * certainly refused it before taking the message. Everything here runs against a real SMTP server on loopback.
 */

async function approvedOrder(h: SlackHarness, domain = 'shop.fr') {
  assert.match((await h.command(`batch renew ${domain}`)).json?.text ?? '', /Composed a renew order/);
  const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
  await h.click(card(h, 'C1', run.threadTs!), APPROVE_ACTION, APPROVER);
  return run;
}

const thread = (h: SlackHarness, threadTs: string) => h.slack.thread('C1', threadTs).map(text).join('\n');

test('the server takes the message, then drops the link before its 250: needs attention, never resent by itself; retry asks again for a fresh order', async () => {
  const h = await startSlackHarness();
  try {
    h.smtp.behaviour = 'dropAfterData';
    const run = await approvedOrder(h);
    const after = await h.drive(isState('needs_attention', 'done', 'failed'), run.id);
    assert.equal(after.state, 'needs_attention', after.lastError ?? '');
    assert.equal(h.smtp.mails.length, 1, 'the server did get the order');
    assert.match(thread(h, run.threadTs!), /it may have been sent to `batch-test@ovh\.com`/);
    assert.match(thread(h, run.threadTs!), /check the batch mailbox/i);
    assert.doesNotMatch(thread(h, run.threadTs!), /Not sent/);

    // Time passes and the poller looks again: nothing is ever sent by itself.
    h.smtp.behaviour = 'accept';
    h.clock.advance(24 * 3_600_000);
    await h.bot.core.engine.tick({ all: true });
    await h.drive(() => false, run.id, 5);
    assert.equal(h.smtp.mails.length, 1);

    // A retry composes a fresh order (a new referer) and asks for a fresh approval, saying what may have gone out.
    assert.match((await h.command('retry batch shop.fr')).json?.text ?? '', /Retrying/);
    const again = await h.drive(isState('awaiting_approval'), run.id);
    const fresh = card(h, 'C1', again.threadTs!);
    assert.match(text(fresh), /An earlier attempt may have been sent \(Message-ID `&lt;dkim-bot\./);
    assert.notEqual(again.facts.referer, after.facts.referer, 'a fresh order');
    assert.equal(h.smtp.mails.length, 1, 'nothing sent without the fresh approval');
    await h.click(fresh, APPROVE_ACTION, APPROVER);
    assert.equal((await h.drive(isState('done', 'needs_attention'), run.id)).state, 'done');
    assert.equal(h.smtp.mails.length, 2);
  } finally {
    await h.close();
  }
});

test('a timeout once the message data began is not "not sent" either', async () => {
  const smtp = await SmtpSim.start();
  try {
    smtp.behaviour = 'stallAfterData';
    const mailer = createMailer({ url: smtp.url, allowPlaintext: false, timeoutMs: 300 });
    const mail = { from: 'a@x.fr', to: 'batch-test@ovh.com', subject: 's', text: 'body', messageId: '<m@x.fr>' };
    await assert.rejects(mailer.send(mail), (error: { details?: { call?: string } }) => {
      assert.equal(error.details?.call, 'unknown');
      return true;
    });
    assert.deepEqual(smtp.commands, ['AUTH', 'MAIL FROM', 'RCPT TO', 'DATA']);
  } finally {
    await smtp.close();
  }
});

test('a recipient refused before DATA is certainly not sent: the run fails, and retry composes and asks again', async () => {
  const h = await startSlackHarness();
  try {
    h.smtp.behaviour = 'refuseRecipient';
    const run = await approvedOrder(h);
    const failed = await h.drive(isState('failed', 'needs_attention', 'done'), run.id);
    assert.equal(failed.state, 'failed');
    assert.match(thread(h, run.threadTs!), /Not sent: the mail server refused it before taking the message/);
    assert.equal(h.smtp.mails.length, 0);
    assert.ok(!h.smtp.commands.includes('DATA'));
    h.smtp.behaviour = 'accept';
    await h.command('retry batch shop.fr');
    const again = await h.drive(isState('awaiting_approval'), run.id);
    assert.ok(h.bot.core.store.approvals.latestForRun(run.id)!.status === 'pending', 'a fresh approval is needed');
    assert.equal(again.state, 'awaiting_approval');
  } finally {
    await h.close();
  }
});

test('nothing listening, or a login refused: certainly not sent', async () => {
  const mail = { from: 'a@x.fr', to: 'batch-test@ovh.com', subject: 's', text: 'body', messageId: '<m@x.fr>' };
  const notSent = (error: { details?: { call?: string } }) => {
    assert.equal(error.details?.call, 'not-sent');
    return true;
  };
  const closed = await SmtpSim.start();
  const port = closed.port;
  await closed.close();
  await assert.rejects(createMailer({ url: `smtp://127.0.0.1:${port}`, allowPlaintext: false }).send(mail), notSent);

  const strict = await SmtpSim.start({ refuseAuth: true });
  try {
    await assert.rejects(createMailer({ url: strict.url, allowPlaintext: false }).send(mail), notSent);
    assert.deepEqual(strict.commands, ['AUTH'], 'refused at the login: no envelope, no data');
  } finally {
    await strict.close();
  }
});

test('SMTP to a host that is not loopback requires TLS: a server without STARTTLS never sees the login or the order', async () => {
  const remote = smtpOptions({ url: 'smtp://bot:secret@mail.example.net:587', allowPlaintext: false });
  assert.equal(remote.requireTLS, true);
  assert.equal(smtpOptions({ url: 'smtps://bot:secret@mail.example.net', allowPlaintext: false }).secure, true);
  assert.equal(smtpOptions({ url: 'smtp://bot:secret@mail.example.net:587', allowPlaintext: true }).requireTLS, false);
  assert.equal(smtpOptions({ url: 'smtp://127.0.0.1:2525', allowPlaintext: false }).requireTLS, false);

  const stripped = await SmtpSim.start({ startTls: false });
  try {
    const mailer = mailerFor({ ...remote, host: '127.0.0.1', port: stripped.port });
    const mail = { from: 'a@x.fr', to: 'batch-test@ovh.com', subject: 's', text: 'body', messageId: '<m@x.fr>' };
    await assert.rejects(mailer.send(mail), (error: { details?: { call?: string }; message: string }) => {
      assert.equal(error.details?.call, 'not-sent');
      return true;
    });
    assert.deepEqual(stripped.commands, [], 'no AUTH, no MAIL FROM over a link without TLS');
  } finally {
    await stripped.close();
  }
});

test('cancel is refused while an order is being sent; a step dropped meanwhile still says the mail went out', async () => {
  const h = await startSlackHarness();
  try {
    let refusal = '';
    h.smtp.onData = () => {
      void h.command('cancel batch shop.fr').then((answer) => {
        refusal = answer.json?.text ?? '';
      });
      // Another instance moves the run while the message is on its way: this step's commit is dropped.
      const run = latestRun(h);
      h.bot.core.store.runs.update(run.id, run.version, { ...run, lastError: 'moved elsewhere' }, h.clock.now());
    };
    const run = await approvedOrder(h);
    await h.bot.core.engine.idle();
    await h.slack.waitFor(() => refusal);
    assert.match(refusal, /Not cancelled: This order is approved and being sent/);
    assert.equal(h.smtp.mails.length, 1);
    await h.drive(() => h.bot.core.store.outbox.pendingCount() === 0, run.id);
    assert.match(
      thread(h, run.threadTs!),
      /already been carried out over SMTP: a mail to batch-test@ovh\.com \(sent\)/,
    );
    const sends = h.bot.core.store.events.forRun(run.id).filter((e) => e.type === 'smtp_send');
    assert.equal(sends.length, 1, 'the send is in the audit trail');
  } finally {
    await h.close();
  }
});

test('send() sends only what was approved: a destination changed since the approval is composed again and asked again', async () => {
  const h = await startSlackHarness();
  try {
    assert.match((await h.command('batch renew shop.fr')).json?.text ?? '', /Composed/);
    const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const approval = h.bot.core.store.approvals.latestForRun(run.id)!;
    assert.ok((await h.bot.core.engine.approvals.decide(approval.id, APPROVER, 'approved')).ok);
    // The configuration changes between the approval and the send (as after a restart with OVH_BATCH_LIVE=true).
    h.bot.core.config.batch!.live = true;
    const again = await h.drive(isState('awaiting_approval', 'done'), run.id);
    assert.equal(again.state, 'awaiting_approval');
    assert.equal(h.smtp.mails.length, 0, 'the approved order was for the test address: nothing sent');
    assert.match(thread(h, run.threadTs!), /no longer the one approved \(its destination is now `batch@ovh\.com`/);
    assert.match(text(card(h, 'C1', run.threadTs!)), /LIVE/);
  } finally {
    await h.close();
  }
});

test('the sending checkpoint is written durably before SMTP', async () => {
  const h = await startSlackHarness();
  try {
    const { store } = h.bot.core;
    const durable: string[] = [];
    const original = store.durableTransaction.bind(store);
    store.durableTransaction = <T>(work: () => T): T =>
      original(() => {
        durable.push(String(store.db.pragma('synchronous', { simple: true })));
        return work();
      });
    h.smtp.onData = () => durable.push(`smtp while ${latestRun(h).state}`);
    const run = await approvedOrder(h);
    await h.drive(isState('done'), run.id);
    // 2 = FULL: the approval and the `sending` checkpoint are synced to disk before the mail leaves.
    assert.deepEqual(durable, ['2', '2', 'smtp while sending']);
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1, 'NORMAL again for the rest');
  } finally {
    await h.close();
  }
});

test('retry never crosses an approval: an order that failed once approved goes back to a fresh card', async () => {
  const h = await startSlackHarness();
  try {
    assert.match((await h.command('batch renew shop.fr')).json?.text ?? '', /Composed/);
    const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const { store } = h.bot.core;
    const approval = store.approvals.latestForRun(run.id)!;
    assert.ok((await h.bot.core.engine.approvals.decide(approval.id, APPROVER, 'approved')).ok);
    // Between the approval and the send, the stored order stops validating (a newer version's stricter rules).
    const order = run.params.order as Record<string, unknown>;
    store.runs.setParams(run.id, { order: { ...order, domain: 'NOT A DOMAIN' } });
    // Params that no longer validate break what the run's state guarantees: a bug, parked, never a mail.
    const failed = await h.drive(isState('failed', 'done', 'needs_attention'), run.id);
    assert.equal(failed.state, 'needs_attention');
    assert.equal(failed.facts.failedIn, 'approved');
    assert.equal(h.smtp.mails.length, 0);

    store.runs.setParams(run.id, { order });
    assert.match((await h.command('retry batch shop.fr', { user: REQUESTER })).json?.text ?? '', /Retrying/);
    const fresh = await h.drive(isState('awaiting_approval', 'sending', 'done'), run.id);
    assert.equal(fresh.state, 'awaiting_approval', 'back before the approval, for a fresh one');
    assert.equal(store.approvals.latestForRun(run.id)!.status, 'pending');
    assert.equal(h.smtp.mails.length, 0, 'the old approval sent nothing');
  } finally {
    await h.close();
  }
});

test('retry never crosses an approval: an Exchange run stalled while enabling goes back to a fresh card', async () => {
  const h = await startSlackHarness({ sim: { enableDelayMs: 365 * 24 * 3_600_000 } });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'slow.fr', zone: true });
    await h.command('setup slow.fr');
    const ready = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    // Approved, then the enable never gets an answer: the run waits in `enabling` until its deadline.
    h.sim.onRequest = ({ method, path }) => (method === 'POST' && path.endsWith('/enable') ? 'hang' : undefined);
    const approval = h.bot.core.store.approvals.latestForRun(ready.id)!;
    assert.ok((await h.bot.core.engine.approvals.decide(approval.id, APPROVER, 'approved')).ok);
    h.clock.advance(49 * 3_600_000);
    const stalled = await h.drive(isState('stalled', 'failed', 'done'), ready.id, 50);
    h.sim.onRequest = undefined;
    assert.equal(stalled.state, 'stalled', stalled.lastError ?? '');
    assert.equal(stalled.facts.resumeState, 'enabling');
    assert.match((await h.command('retry setup slow.fr')).json?.text ?? '', /Retrying/);
    const again = await h.drive(isState('awaiting_approval', 'enabling', 'done'), ready.id);
    // OVH shows the key still `ready` (the hung enable never arrived): a fresh approval is asked for.
    assert.equal(again.state, 'awaiting_approval');
    assert.notEqual(h.bot.core.store.approvals.latestForRun(ready.id)!.id, approval.id);
  } finally {
    await h.close();
  }
});
