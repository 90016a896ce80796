import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { createLogger, makeRedactor } from '../src/log.ts';
import { Operations } from '../src/operations/index.ts';
import { BATCH_FORM_CALLBACK } from '../src/slack/render/batch-form.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { textInputs } from './sim/slack.ts';
import { mailBody } from './sim/smtp.ts';
import { card } from './slack-flows.ts';
import { latestRun, startSlackHarness } from './slack-harness.ts';

/**
 * What is stored and shown: the transfer code (authinfo) masked everywhere and dropped once the order is sent; the
 * owner's fields shown to approvers in the card only, where no field can ping, link or break the layout.
 */

const AUTHINFO = 'Tr4nsfer-C0de-9f2b';
const HOSTILE_NAME = '`<!channel>` <https://evil.example|Click here>';

/** A .fr owner who is a person, and how AFNIC identifies her: private, sent to OVH and to nobody else. */
const PERSON = {
  legalform: 'individual',
  name: 'Martin',
  firstname: 'Éloïse',
  email: 'eloise@shop.fr',
  address: '1 rue de la Paix',
  city: 'Paris',
  zip: '75002',
  country: 'FR',
  language: 'fr',
  phone: '+33.123456789',
};
const IDENTIFICATION = {
  method: 'birthPlace',
  birthDate: '17/03/1984',
  birthCity: 'Besançon',
  birthDepartement: '25',
  birthCountry: 'FR',
};

test('a transfer order: the code never reaches Slack, the logs or the audit trail, and is dropped once sent; owner fields cannot ping or link', async () => {
  const h = await startSlackHarness({
    env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' },
  });
  try {
    const answer = await h.command(`batch transfer boutique.com ${AUTHINFO}`);
    assert.match(answer.json?.text ?? '', /fill in the form/);
    const opened = await h.slack.waitFor(() => h.slack.callsOf('views.open')[0]);
    const metadata = (opened.args.view as { private_metadata: string }).private_metadata;
    assert.ok(!JSON.stringify(opened.args).includes(AUTHINFO), 'not in the form sent to Slack');
    const submitted = await h.submitView({
      userId: REQUESTER,
      callbackId: BATCH_FORM_CALLBACK,
      privateMetadata: metadata,
      values: textInputs({
        tech: 'ab1-ovh',
        admin: 'ab1-ovh',
        billing: 'ab1-ovh',
        offer: 'gold',
        hostingType: 'none',
        owner_legalform: 'individual',
        owner_name: HOSTILE_NAME,
        owner_firstname: 'Éloïse',
        owner_email: 'eloise@boutique.com',
        owner_address: '1 rue de la Paix',
        owner_city: 'Besançon',
        owner_zip: '25000',
        owner_country: 'FR',
        owner_language: 'fr',
        owner_phone: '+33.123456789',
      }),
    });
    assert.equal(submitted.status, 200);
    const run = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
    assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');

    const shown = card(h, 'C1', run.threadTs!);
    const blocks = shown.blocks as { type: string; text?: { text: string }; elements?: unknown[] }[];
    const preview = blocks.find((b) => b.type === 'rich_text');
    assert.ok(preview, 'the preview is preformatted rich text, which Slack does not parse');
    assert.match(JSON.stringify(preview), /contact\.owner\.name: `<!channel>` <https:\/\/evil\.example\|Click here>/);
    assert.match(JSON.stringify(preview), /option\.domain\.authinfo: \*\*\*\*\*\*\*\*/);
    const parsed = blocks.filter((b) => b.type !== 'rich_text').map((b) => JSON.stringify(b));
    assert.ok(!parsed.some((b) => b.includes('<!channel>') || b.includes('evil.example')), 'no field in mrkdwn');

    await h.click(shown, APPROVE_ACTION, APPROVER);
    const done = await h.drive(isState('done', 'needs_attention', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.match(h.smtp.mails[0]!.raw, new RegExp(`option\\.domain\\.authinfo: ${AUTHINFO}`), 'OVH gets the code');
    await h.drive(() => h.bot.core.store.outbox.pendingCount() === 0, run.id);

    const { store } = h.bot.core;
    const kept = JSON.stringify([
      store.runs.get(run.id),
      store.events.forRun(run.id),
      store.outbox.forRun(run.id),
      store.approvals.latestForRun(run.id),
    ]);
    assert.ok(!kept.includes(AUTHINFO), 'the code is in no row once sent');
    assert.ok(!kept.includes('Besançon') && !kept.includes('evil.example'), "the owner's fields are dropped once sent");
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const file = readFileSync(h.env.DATABASE_PATH!).toString('latin1');
    assert.ok(!file.includes(AUTHINFO), 'nor in the database file (secure delete)');
    const slack = JSON.stringify([h.slack.calls, h.slack.responses()]);
    assert.ok(!slack.includes(AUTHINFO), 'never in Slack');
    assert.ok(!h.logLines.join('\n').includes(AUTHINFO), 'never in the logs (debug level included)');
  } finally {
    await h.close();
  }
});

test('the database file and its folder are created readable by their owner only', async () => {
  const h = await startSlackHarness();
  try {
    assert.equal(statSync(h.env.DATABASE_PATH!).mode & 0o777, 0o600);
    for (const suffix of ['-wal', '-shm']) {
      assert.equal(statSync(`${h.env.DATABASE_PATH}${suffix}`).mode & 0o077, 0, `${suffix} not readable by others`);
    }
    assert.equal(statSync(dirname(h.env.DATABASE_PATH!)).mode & 0o077, 0);
  } finally {
    await h.close();
  }
});

test('secrets are masked before serialising: a secret with " or \\ is masked once JSON-escaped too', () => {
  const secret = 'pa"ss\\word-42';
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redact: makeRedactor([secret]), write: (line) => lines.push(line) });
  log.info(`login with ${secret}`, { nested: { value: secret, list: [secret] }, error: new Error(`bad ${secret}`) });
  log.debug('bolt: command', { text: `batch transfer x.fr ${AUTHINFO}`, order: { authinfo: AUTHINFO } });
  const odd = 'Ab"cD\\9xQ';
  log.debug('bolt: command', { text: `batch transfer\tx.fr\t${odd}`, body: `option.domain.authinfo: ${odd}` });
  const out = lines.join('\n');
  assert.ok(!out.includes(secret) && !out.includes(JSON.stringify(secret).slice(1, -1)), out);
  assert.ok(!out.includes(AUTHINFO), out);
  assert.ok(!out.includes('cD') && !out.includes('9xQ'), `a code with a quote or a backslash is masked whole: ${out}`);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), 'every line stays JSON');
  assert.match(out, /\[redacted\]/);
});

test("an order rejected keeps no owner's details anywhere: its card's preview is dropped with its params", async () => {
  const h = await startSlackHarness({
    env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' },
  });
  try {
    const ops = new Operations(h.bot.core);
    const { store } = h.bot.core;
    const contacts = { tech: 'ab1-ovh', admin: 'ab1-ovh', billing: 'ab1-ovh' };
    const started = await ops.startBatch(
      { command: 'create', domain: 'refused.fr', owner: PERSON, identification: IDENTIFICATION, ...contacts },
      REQUESTER,
      'C1',
    );
    assert.ok(started.ok, plainText(started.text));
    await h.drive(isState('awaiting_approval', 'failed'), started.run!.id);
    const preview = JSON.stringify(store.outbox.forRun(started.run!.id));
    assert.ok(preview.includes('1 rue de la Paix'), 'the card shows the order while it waits');
    assert.ok((await ops.decide(store.approvals.latestForRun(started.run!.id)!.id, APPROVER, 'rejected')).ok);
    const kept = JSON.stringify(store.outbox.forRun(started.run!.id));
    for (const detail of ['1 rue de la Paix', '+33.123456789', '17/03/1984', 'Besançon']) {
      assert.ok(!kept.includes(detail), `${detail} is gone from the outbox`);
    }
  } finally {
    await h.close();
  }
});

test("an order rejected or cancelled keeps no transfer code; a .fr owner's birth date and place are never kept", async () => {
  const h = await startSlackHarness({
    env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' },
  });
  try {
    const ops = new Operations(h.bot.core);
    const { store } = h.bot.core;
    const contacts = { tech: 'ab1-ovh', admin: 'ab1-ovh', billing: 'ab1-ovh' };
    const transfer = (domain: string) =>
      ops.startBatch(
        { command: 'transfer', domain, authinfo: AUTHINFO, owner: { id: 'ab1-ovh' }, ...contacts },
        REQUESTER,
        'C1',
      );

    const rejected = (await transfer('rejected.com')).run!;
    await h.drive(isState('awaiting_approval', 'failed'), rejected.id);
    assert.ok((await ops.decide(store.approvals.latestForRun(rejected.id)!.id, APPROVER, 'rejected')).ok);
    const cancelled = (await transfer('cancelled.com')).run!;
    await h.drive(isState('awaiting_approval', 'failed'), cancelled.id);
    assert.ok((await ops.cancel(['batch', 'cancelled.com'], REQUESTER)).ok);
    for (const run of [rejected, cancelled]) {
      const kept = JSON.stringify([store.runs.get(run.id), store.events.forRun(run.id)]);
      assert.ok(!kept.includes(AUTHINFO), `${run.domain}: the code is dropped once nothing will send it`);
    }

    const created = await ops.startBatch(
      { command: 'create', domain: 'eloise.fr', owner: PERSON, identification: IDENTIFICATION, ...contacts },
      REQUESTER,
      'C1',
    );
    assert.ok(created.ok, plainText(created.text));
    const run = await h.drive(isState('awaiting_approval', 'failed'), created.run!.id);
    assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
    assert.ok(!JSON.stringify(store.events.forRun(run.id)).includes('17/03/1984'), 'not in the audit trail');
    await ops.decide(store.approvals.latestForRun(run.id)!.id, APPROVER, 'approved');
    const done = await h.drive(isState('done', 'needs_attention', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.match(
      mailBody(h.smtp.mails.at(-1)!.raw).body,
      /option\.identification\.birthDate: 17\/03\/1984/,
      'OVH gets it',
    );
    const kept = JSON.stringify([store.runs.get(run.id), store.events.forRun(run.id)]);
    assert.ok(!kept.includes('17/03/1984') && !kept.includes('Besançon'), 'dropped once sent');
  } finally {
    await h.close();
  }
});
