import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { parseImapUrl } from '../src/config/imap-url.ts';
import { parseAggregateReport, ReportRejected } from '../src/domain/dmarc-report.ts';
import { ProviderError } from '../src/providers/errors.ts';
import { createImapMailbox, type ReportHandler, type ReportMessage } from '../src/providers/imap.ts';
import { Store } from '../src/store/index.ts';
import {
  type Attachment,
  ENTITY_XML,
  gzAttachment,
  MALFORMED_XML,
  reportMail,
  reportXml,
  xmlAttachment,
  zipAttachment,
  zipBomb,
} from './sim/dmarc-reports.ts';
import { DovecotSim } from './sim/dovecot.ts';

/** The reports mailbox against a real Dovecot on loopback: APPEND as a mail server delivers, then the bot reads. */

let dovecot: DovecotSim;
before(async () => {
  dovecot = await DovecotSim.start();
});
after(async () => {
  await dovecot?.stop();
});

/** The bot's side: every attachment parsed and stored; a report it cannot read rejects its message. */
function importer(store: Store): ReportHandler & { seen: ReportMessage[] } {
  const seen: ReportMessage[] = [];
  const handle = async (message: ReportMessage) => {
    seen.push(message);
    try {
      for (const attachment of message.attachments)
        store.dmarc.importReport(parseAggregateReport(attachment.content), 1);
      return { result: 'imported' as const };
    } catch (error) {
      if (error instanceof ReportRejected) return { result: 'rejected' as const, reason: error.message };
      throw error;
    }
  };
  return Object.assign(handle, { seen });
}

function reportCount(store: Store): number {
  return (store.db.prepare('SELECT COUNT(*) AS n FROM dmarc_reports').get() as { n: number }).n;
}

test('reports appended by IMAP APPEND are imported and moved to dmarc-done; read again, they add nothing', async () => {
  const user = 'imported';
  const store = Store.open(':memory:');
  await dovecot.append(reportMail('zip', [zipAttachment(reportXml({ reportId: 'z' }))]), user);
  await dovecot.append(reportMail('gz', [gzAttachment(reportXml({ orgName: 'Outlook.com', reportId: 'g' }))]), user);
  await dovecot.append(reportMail('xml', [xmlAttachment(reportXml({ orgName: 'Yahoo', reportId: 'x' }))]), user);
  await dovecot.append(
    reportMail('bare', [zipAttachment(reportXml({ orgName: 'Mail.Ru', reportId: 'b' }))], { bare: true }),
    user,
  );
  const mailbox = createImapMailbox(dovecot.url({ user }));
  const handle = importer(store);

  const outcomes = await mailbox.drain(handle);
  assert.deepEqual(
    outcomes.map((o) => [o.result, o.movedTo]),
    Array(4).fill(['imported', 'dmarc-done']),
  );
  assert.deepEqual(
    handle.seen.map((m) => m.attachments.map((a) => [a.contentType, a.filename.slice(-7)])),
    [
      [['application/zip', '599.zip']],
      [['application/gzip', '.xml.gz']],
      [['text/xml', 'ort.xml']],
      [['application/zip', '599.zip']],
    ],
  );
  assert.equal(reportCount(store), 4);
  assert.deepEqual(await dovecot.messages('INBOX', user), []);
  assert.deepEqual(
    (await dovecot.messages('dmarc-done', user)).map((m) => m.subject),
    ['zip', 'gz', 'xml', 'bare'],
  );

  assert.deepEqual(await mailbox.drain(handle), [], 'nothing left to read');
  await dovecot.append(reportMail('zip again', [zipAttachment(reportXml({ reportId: 'z' }))]), user);
  const again = await mailbox.drain(handle);
  assert.deepEqual(
    again.map((o) => o.result),
    ['imported'],
  );
  assert.equal(reportCount(store), 4, 'the same report a second time adds no row');
  // 5 appends, 3 drains, 2 listings: every session, the bot's included, logged out.
  const sessions = await dovecot.sessionsEnded(user, 10);
  assert.deepEqual(
    sessions.map((s) => s.reason),
    Array(10).fill('Logged out'),
  );
});

test('malformed, oversized, bomb, DTD and attachment-less messages go to dmarc-rejected; the others import', async () => {
  const user = 'rejects';
  const store = Store.open(':memory:');
  const huge: Attachment = {
    filename: 'big.zip',
    contentType: 'application/zip',
    content: randomBytes(11 * 1024 * 1024),
  };
  const mails: [string, Attachment[]][] = [
    ['good 1', [zipAttachment(reportXml({ reportId: 'good-1' }))]],
    ['malformed', [xmlAttachment(MALFORMED_XML)]],
    ['oversized', [huge]],
    ['bomb', [{ filename: 'bomb.zip', contentType: 'application/zip', content: zipBomb() }]],
    ['dtd', [gzAttachment(ENTITY_XML)]],
    ['no attachment', []],
    ['good 2', [gzAttachment(reportXml({ reportId: 'good-2' }))]],
  ];
  for (const [subject, attachments] of mails) await dovecot.append(reportMail(subject, attachments), user);

  const outcomes = await createImapMailbox(dovecot.url({ user })).drain(importer(store));
  assert.deepEqual(
    outcomes.map((o) => [o.result, o.movedTo]),
    [
      ['imported', 'dmarc-done'],
      ['rejected', 'dmarc-rejected'],
      ['rejected', 'dmarc-rejected'],
      ['rejected', 'dmarc-rejected'],
      ['rejected', 'dmarc-rejected'],
      ['rejected', 'dmarc-rejected'],
      ['imported', 'dmarc-done'],
    ],
  );
  const reasons = outcomes.map((o) => o.reason ?? '');
  assert.match(reasons[1]!, /malformed-xml/);
  assert.match(reasons[2]!, /over 10485760 bytes/);
  assert.match(reasons[3]!, /too-large/);
  assert.match(reasons[4]!, /dtd/);
  assert.match(reasons[5]!, /no report attachment/);
  assert.equal(reportCount(store), 2);
  assert.deepEqual(
    (await dovecot.messages('dmarc-rejected', user)).map((m) => m.subject),
    ['malformed', 'oversized', 'bomb', 'dtd', 'no attachment'],
  );
  assert.deepEqual(
    (await dovecot.messages('dmarc-done', user)).map((m) => m.subject),
    ['good 1', 'good 2'],
  );
  // 7 appends and the drain: no session was sent 1 MiB, the drain's included (the six other messages are small).
  for (const session of await dovecot.sessionsEnded(user, 8)) {
    assert.ok(session.bytesOut < 1024 * 1024, `the 11 MiB message was not downloaded (${session.bytesOut} bytes sent)`);
  }
});

test('a refused login is a terminal ProviderError that never shows the password', async () => {
  const wrong = 'Wr0ng p@ss:w/rd';
  const mailbox = createImapMailbox(dovecot.url({ user: 'refused', password: wrong }));
  const error = await mailbox.drain(importer(Store.open(':memory:'))).then(
    () => assert.fail('the login was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ProviderError, String(error));
  assert.equal(error.kind, 'terminal');
  assert.match(error.message, /IMAP log in as refused at 127\.0\.0\.1:\d+ failed: login refused/);
  for (const secret of [wrong, encodeURIComponent(wrong), dovecot.password]) {
    assert.ok(!error.message.includes(secret), 'no password in the message');
    assert.ok(!JSON.stringify(error).includes(secret), 'nor in its fields');
  }
  assert.ok(await dovecot.answers());
});

test('a link dropped mid-session is a transient ProviderError; the message stays, the server stays up', async () => {
  const user = 'dropped';
  const store = Store.open(':memory:');
  await dovecot.append(reportMail('first', [zipAttachment(reportXml({ reportId: 'd-1' }))]), user);
  await dovecot.append(reportMail('second', [zipAttachment(reportXml({ reportId: 'd-2' }))]), user);
  const handle = importer(store);
  let killed = 0;
  const dropping: ReportHandler = async (message) => {
    const verdict = await handle(message);
    if (killed === 0) killed = dovecot.dropSessions();
    return verdict;
  };
  const error = await createImapMailbox(dovecot.url({ user }))
    .drain(dropping)
    .then(
      () => assert.fail('the drain went on without its link'),
      (e: unknown) => e,
    );
  assert.equal(killed, 1, 'one imap process, the session of the drain, was killed');
  assert.ok(error instanceof ProviderError, String(error));
  assert.equal(error.kind, 'transient');
  assert.match(
    error.message,
    /IMAP (download|move) message [\d,]+ (to dmarc-done )?as dropped at 127\.0\.0\.1:\d+ failed/,
  );
  assert.ok(!error.message.includes(dovecot.password));

  assert.ok(await dovecot.answers(), 'the server still answers');
  assert.deepEqual(
    (await dovecot.messages('INBOX', user)).map((m) => m.subject),
    ['first', 'second'],
  );
  const outcomes = await createImapMailbox(dovecot.url({ user })).drain(handle);
  assert.deepEqual(
    outcomes.map((o) => o.result),
    ['imported', 'imported'],
  );
  assert.equal(reportCount(store), 2, 'the report stored before the drop counts once');
});

test('a handler that throws ends the reading with its own error; the message stays and the session logs out', async () => {
  const user = 'failing';
  await dovecot.append(reportMail('kept', [zipAttachment(reportXml())]), user);
  const failure = new Error('database is locked');
  await assert.rejects(
    createImapMailbox(dovecot.url({ user })).drain(async () => {
      throw failure;
    }),
    (error) => error === failure,
  );
  assert.deepEqual(
    (await dovecot.messages('INBOX', user)).map((m) => m.subject),
    ['kept'],
  );
  const sessions = await dovecot.sessionsEnded(user, 2);
  assert.deepEqual(
    sessions.map((s) => s.reason),
    ['Logged out', 'Logged out'],
    'the append and the drain',
  );
});

test('no server, or one that never greets: transient ProviderErrors', async () => {
  const closed = await listen(() => {});
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = createImapMailbox(`imap://u:secret-pass@127.0.0.1:${port}/INBOX`, { timeoutMs: 2000 });
  await assert.rejects(refused.drain(importer(Store.open(':memory:'))), (error) => {
    assert.ok(error instanceof ProviderError && error.kind === 'transient', String(error));
    assert.match(error.message, /ECONNREFUSED/);
    return !error.message.includes('secret-pass');
  });

  const sockets: Socket[] = [];
  const silent = await listen((socket) => sockets.push(socket));
  try {
    const { port: silentPort } = silent.address() as { port: number };
    const mute = createImapMailbox(`imap://u:secret-pass@127.0.0.1:${silentPort}/INBOX`, { timeoutMs: 300 });
    await assert.rejects(
      mute.drain(importer(Store.open(':memory:'))),
      (error) => error instanceof ProviderError && error.kind === 'transient' && !error.message.includes('secret-pass'),
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('the mailbox URL: TLS unless loopback, the password URL-decoded, never in an error', () => {
  assert.deepEqual(parseImapUrl('imaps://dmarc%40x.fr:p%40ss%3Aw%2Frd@imap.example.fr/Reports%2F2026'), {
    host: 'imap.example.fr',
    port: 993,
    secure: true,
    user: 'dmarc@x.fr',
    password: 'p@ss:w/rd',
    folder: 'Reports/2026',
  });
  assert.deepEqual(parseImapUrl('imap://u:p@[::1]:1143'), {
    host: '::1',
    port: 1143,
    secure: false,
    user: 'u',
    password: 'p',
    folder: 'INBOX',
  });
  assert.equal(parseImapUrl('imap://u:p@127.0.0.1/INBOX').port, 143);
  for (const url of ['imap://u:hunter22@imap.example.fr/INBOX', 'pop3://u:hunter22@x/', 'imaps://u@x/', 'hunter22']) {
    assert.throws(
      () => parseImapUrl(url),
      (error: Error) => !error.message.includes('hunter22'),
    );
  }
});

function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
