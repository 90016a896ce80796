import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_TEST_ADDRESS, batchSignature } from '../src/domain/batch.ts';
import { plainText } from '../src/domain/text.ts';
import { Operations } from '../src/operations/index.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { messageLines } from './sim/slack.ts';
import { mailBody } from './sim/smtp.ts';
import { latestRun, type SlackHarness, startSlackHarness } from './slack-harness.ts';

const PASSPHRASE = 'Test Batch Passphrase 42';

function approvalCard(h: SlackHarness, threadTs: string) {
  const card = h.slack.thread('C1', threadTs).find((m) => messageLines(m).join('\n').includes('[Approve]'));
  assert.ok(card, h.slack.threadAsText('C1', threadTs));
  return card;
}

test('renew through Slack: preview and destination on the card, no mail before approval, exactly one after a double click', async () => {
  const h = await startSlackHarness();
  try {
    const answer = await h.command('batch renew shop.fr');
    assert.match(answer.json?.text ?? '', /Composed a renew order for shop\.fr/);
    const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const card = approvalCard(h, run.threadTs!);
    const cardText = messageLines(card).join('\n');
    assert.match(cardText, /Destination: `batch-test@ovh\.com`/);
    assert.match(cardText, /order\.domain\.command: renew/);
    assert.doesNotMatch(cardText, /batch\.auth\.md5/);
    assert.ok(!JSON.stringify(h.slack.calls).includes(PASSPHRASE), 'the passphrase never reaches Slack');
    assert.equal(h.smtp.mails.length, 0, 'no mail before the approval');

    await Promise.all([h.click(card, APPROVE_ACTION, APPROVER), h.click(card, APPROVE_ACTION, APPROVER)]);
    const done = await h.drive(isState('done', 'failed', 'needs_attention'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.smtp.mails.length, 1, 'exactly one mail');
    const [mail] = h.smtp.mails;
    assert.equal(mail!.from, 'dkim-bot@example.fr');
    assert.deepEqual(mail!.to, [BATCH_TEST_ADDRESS]);
    const { headers, body } = mailBody(mail!.raw);
    assert.match(headers, /^To: batch-test@ovh\.com$/m);
    assert.match(headers, /^From: dkim-bot@example\.fr$/m);
    assert.match(headers, new RegExp(`^Subject: OVH batch order ${done.facts.referer}$`, 'm'));
    assert.match(headers, /^Content-Type: text\/plain; charset=utf-8$/m);
    assert.doesNotMatch(headers, /multipart/i);
    // The mail is the body the card showed, then the signature line: the approvers saw exactly what was sent.
    const shown = card.blocks?.find((b) => (b as { type: string }).type === 'rich_text');
    const preview = `${messageLines({ blocks: [shown] }).join('\n')}\n\n`;
    assert.equal(body, `${preview}batch.auth.md5: ${batchSignature(PASSPHRASE, preview)}\n`);
    assert.match(body, /^batch\.account: ab1234-ovh$/m);
    assert.match(body, /^batch\.referer: dkimbot-\d+-[0-9a-f]{8}$/m);
    assert.match(
      headers,
      new RegExp(`^Message-ID: ${String(done.facts.messageId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    const thread = h.slack
      .thread('C1', run.threadTs!)
      .map((m) => messageLines(m).join('\n'))
      .join('\n');
    // The Message-ID's angle brackets are escaped: Slack shows them, never reads them as a link.
    assert.match(thread, /Message-ID `&lt;dkim-bot\.[^`]*&gt;`/);
  } finally {
    await h.close();
  }
});

test('dns with host=ip pairs; live mode only by configuration', async () => {
  const h = await startSlackHarness({ env: { OVH_BATCH_LIVE: 'true' } });
  try {
    await h.command('batch dns shop.fr ns1.shop.net ns2.shop.net=192.0.2.53');
    const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const card = approvalCard(h, run.threadTs!);
    const text = messageLines(card).join('\n');
    assert.match(text, /Destination: `batch@ovh\.com` — \*LIVE/);
    assert.match(text, /soapi\.method: domainDnsUpdate/);
    assert.match(text, /soapi\.param\.dns2: ns2\.shop\.net 192\.0\.2\.53/);
    await h.click(card, APPROVE_ACTION, APPROVER);
    await h.drive(isState('done'), run.id);
    assert.deepEqual(h.smtp.mails[0]?.to, ['batch@ovh.com']);
  } finally {
    await h.close();
  }
});

test('hostile fields are refused before composing: nothing written, nothing sent', async () => {
  const h = await startSlackHarness({
    env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' },
  });
  try {
    for (const [command, expected] of [
      ['batch dns shop.fr ns1.shop.net;rm', /is not a name server/],
      ['batch dns shop.fr ns1.shop.net=999.1.1.1', /IPv4/],
      ['batch dns shop.fr a b c d e', /Usage/],
      ['batch renew shop.fr extra', /Usage/],
      ['batch explode shop.fr', /Usage/],
      ['batch transfer shop.com', /Usage/],
    ] as const) {
      assert.match((await h.command(command)).json?.text ?? '', expected, command);
    }
    const base = { command: 'create', domain: 'shop.com', tech: 'ab1-ovh', admin: 'ab1-ovh', billing: 'ab1-ovh' };
    const owner = {
      legalform: 'individual',
      name: 'Martin',
      firstname: 'Éloïse',
      email: 'eloise@shop.com',
      address: '1 rue de la Paix',
      city: 'Besançon',
      zip: '25000',
      country: 'FR',
      language: 'fr',
      phone: '+33.123456789',
    };
    for (const [field, value, expected] of [
      ['name', 'Martin\nbatch.autopayment: no', /one line/],
      ['name', 'Martin batch.autopayment: no', /another field/],
      ['city', 'Paris contact.owner.id: zz9-ovh', /another field/],
      ['address', ': injected', /another field/],
      ['address', 'rue\u0000nulle', /one line/],
      ['organisation', 'Acme\u2028order.offer: diamond', /one line/],
      ['email', 'not-an-email', /email/],
    ] as const) {
      const reply = await new Operations(h.bot.core).startBatch(
        { ...base, owner: { ...owner, [field]: value } },
        REQUESTER,
        'C1',
      );
      assert.equal(reply.ok, false, `${field}=${JSON.stringify(value)}`);
      assert.match(plainText(reply.text), expected, `${field}=${JSON.stringify(value)}`);
    }
    await h.bot.core.engine.idle();
    assert.equal(h.bot.core.store.runs.count(), 0);
    assert.equal(h.smtp.connections, 0);
  } finally {
    await h.close();
  }
});
