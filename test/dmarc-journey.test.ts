import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { approveDmarc, card, dmarcHarness } from './dmarc-fixtures.ts';
import { type Harness, isState, REQUESTER } from './harness.ts';
import { said, setUp } from './lifecycle-fixtures.ts';
import {
  gzAttachment,
  HOSTILE_ORG,
  MALFORMED_XML,
  type RecordSpec,
  reportMail,
  reportXml,
  xmlAttachment,
  zipAttachment,
  zipBomb,
} from './sim/dmarc-reports.ts';
import { DovecotSim } from './sim/dovecot.ts';

/**
 * The receivers' reports read from a real IMAP server (Dovecot on loopback): each counted once, the proof that the
 * bot's selector passes said once, a failing selector said once, and the journey: a step-up proposed only on enough
 * evidence, never twice; after it, a fall said once with a rollback card.
 */

const DAY_MS = 86_400_000;
let dovecot: DovecotSim;
before(async () => {
  dovecot = await DovecotSim.start();
});
after(async () => {
  await dovecot?.stop();
});

let users = 0;
async function journeyHarness(env: NodeJS.ProcessEnv = {}) {
  const user = `journey${++users}`;
  const h = await dmarcHarness({ DMARC_IMAP_URL: dovecot.url({ user }), ...env });
  return { h, user };
}

/** One day's report from `org` about `domain`, starting at the harness's now. */
function dayReport(h: Harness, domain: string, org: string, records: RecordSpec[], id = `${org}-${h.clock.now()}`) {
  return reportXml({
    orgName: org,
    reportId: id,
    domain,
    begin: Math.floor(h.clock.now() / 1000),
    end: Math.floor(h.clock.now() / 1000) + 86_399,
    records,
  });
}

const signed = (domain: string, selector: string, count: number, result: 'pass' | 'fail', ip = '198.51.100.7') => ({
  sourceIp: ip,
  count,
  dkim: result,
  spf: 'fail' as const,
  headerFrom: domain,
  dkimResults: [{ domain, selector, result }],
});

async function signingWithDmarc(h: Harness, domain: string) {
  await setUp(h, domain);
  const run = (await h.ops.dmarc({ domain, user: REQUESTER, channel: 'C1' })).run!;
  await h.drive(isState('awaiting_approval'), run.id);
  await approveDmarc(h, run.id);
  assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
  return h.core.store.watches.get(domain)!;
}

test('the proof: the first reports showing the selector passing aligned DKIM are said once in the setup thread; read again, nothing', async () => {
  const { h, user } = await journeyHarness();
  try {
    const watch = await signingWithDmarc(h, 'proof.fr');
    const xml = dayReport(h, 'proof.fr', 'google.com', [signed('proof.fr', watch.selector, 1234, 'pass')], 'g-1');
    await dovecot.append(reportMail('google', [zipAttachment(xml)]), user);
    await dovecot.append(
      reportMail('outlook', [
        gzAttachment(dayReport(h, 'proof.fr', HOSTILE_ORG, [signed('proof.fr', watch.selector, 10, 'pass')], 'o-1')),
      ]),
      user,
    );
    const round = await h.core.reports.round();
    assert.deepEqual(
      { ...round.read, domains: undefined },
      { imported: 2, duplicates: 0, rejected: 0, domains: undefined },
    );
    assert.equal(round.said.proofs, 1);
    const thread = said(h, watch.runId);
    assert.match(
      thread,
      new RegExp(`Receivers confirm: 1,244 messages signed with \`${watch.selector}\` passed DKIM at`),
    );
    assert.ok(thread.includes(HOSTILE_ORG), 'the reporter named as it wrote itself (escaped only for Slack)');
    const mentions = h.core.store.outbox
      .forRun(watch.runId)
      .map((m) => m.notice)
      .filter((n) => n.type === 'reply' && /Receivers confirm/.test(plainText(n.text)));
    assert.equal(mentions.length, 1);
    assert.ok(mentions[0]?.type === 'reply' && mentions[0].mention, 'the requester is mentioned');

    await dovecot.append(reportMail('google again', [zipAttachment(xml)]), user);
    const again = await h.core.reports.round();
    assert.equal(again.read?.duplicates, 1, 'the same report counts once');
    assert.equal(again.said.proofs, 0, 'said once');
    const reports = h.core.store.db.prepare('SELECT COUNT(*) AS n FROM dmarc_reports').get() as { n: number };
    assert.equal(reports.n, 2);
  } finally {
    await h.close();
  }
});

test('a selector failing at the receivers is said once with its sources; bad reports are refused, the others imported', async () => {
  const { h, user } = await journeyHarness();
  try {
    const watch = await signingWithDmarc(h, 'failing.fr');
    const records = [
      signed('failing.fr', watch.selector, 40, 'fail', '203.0.113.9'),
      signed('failing.fr', watch.selector, 5, 'pass'),
    ];
    await dovecot.append(reportMail('malformed', [xmlAttachment(MALFORMED_XML)]), user);
    await dovecot.append(
      reportMail('bomb', [{ filename: 'b.zip', contentType: 'application/zip', content: zipBomb() }]),
      user,
    );
    await dovecot.append(reportMail('fails', [xmlAttachment(dayReport(h, 'failing.fr', 'yahoo.com', records))]), user);
    const round = await h.core.reports.round();
    assert.equal(round.read?.imported, 1);
    assert.equal(round.read?.rejected, 2);
    assert.equal(round.said.failures, 1);
    assert.match(
      said(h, watch.runId),
      /mail signed with `.*` fails DKIM: 40 messages failed, 5 messages passed \(reported by yahoo\.com\)\. Where it came from: 203\.0\.113\.9 \(40 messages, reported by yahoo\.com\)/,
    );
    const metrics = await h.core.metrics.text();
    assert.match(metrics, /dkim_dmarc_reports_total\{result="rejected"\} 2/);
    assert.match(metrics, /dkim_dmarc_reports_total\{result="imported"\} 1/);
    assert.equal((await h.core.reports.round()).said.failures, 0, 'said once');
  } finally {
    await h.close();
  }
});

test('the journey: no proposal on thin evidence; one step-up card on enough, never two; approved, p=quarantine; a fall says once, with a rollback card', async () => {
  const { h, user } = await journeyHarness({
    DMARC_STEP_UP_DAYS: '14',
    DMARC_MIN_MESSAGES: '100',
    DMARC_STEP_UP_PASS: '98',
  });
  try {
    const watch = await signingWithDmarc(h, 'journey.fr');
    const dmarcRuns = () =>
      h.core.store.runs.listActive(100).filter((r) => r.kind === 'dmarc' && r.domain === 'journey.fr');
    // Fourteen days of reports: 99% pass, one source failing.
    for (let day = 0; day < 14; day++) {
      h.clock.advance(DAY_MS);
      const records = [
        signed('journey.fr', watch.selector, 99, 'pass'),
        signed('journey.fr', watch.selector, 1, 'fail', '203.0.113.50'),
      ];
      await dovecot.append(
        reportMail(`day ${day}`, [zipAttachment(dayReport(h, 'journey.fr', 'google.com', records))]),
        user,
      );
      if (day === 5) {
        await h.core.reports.round();
        assert.equal(dmarcRuns().length, 0, 'no proposal before DMARC_STEP_UP_DAYS of evidence');
      }
    }
    h.clock.advance(DAY_MS);
    const round = await h.core.reports.round();
    assert.deepEqual(round.journey.proposed, ['journey.fr']);
    const [proposal] = dmarcRuns();
    assert.ok(proposal);
    await h.drive(isState('awaiting_approval', 'failed'), proposal.id);
    const shown = card(h, proposal.id);
    assert.equal(plainText(shown.title), 'Step up the DMARC policy of journey.fr to p=quarantine?');
    const lines = shown.lines.map(plainText).join('\n');
    assert.match(lines, /→ `v=DMARC1; p=quarantine; rua=/);
    assert.match(lines, /passed DMARC \(99\.0%\)/);
    assert.match(lines, /What p=quarantine would have quarantined: 203\.0\.113\.50 \(/);
    assert.deepEqual((await h.core.reports.round()).journey.proposed, [], 'never two open for one domain');

    await approveDmarc(h, proposal.id);
    assert.equal((await h.drive(isState('done', 'failed'), proposal.id)).state, 'done');
    const stepped = h.core.store.dmarcDomains.get('journey.fr');
    assert.equal(stepped?.policy, 'quarantine');
    assert.equal(stepped?.previousPolicy, 'none');
    assert.ok(
      h.sim.zoneRecords('journey.fr').some((r) => r.subDomain === '_dmarc' && r.target.includes('p=quarantine')),
    );

    // A day of mail failing: the fall is said once, with a rollback card.
    h.clock.advance(DAY_MS);
    const bad = [
      signed('journey.fr', watch.selector, 50, 'pass'),
      signed('journey.fr', watch.selector, 50, 'fail', '203.0.113.77'),
    ];
    await dovecot.append(reportMail('bad day', [zipAttachment(dayReport(h, 'journey.fr', 'google.com', bad))]), user);
    // Read the morning after the day it covers, as receivers send them: it began more than 24 hours ago.
    h.clock.advance(DAY_MS + 6 * 3_600_000);
    const fell = await h.core.reports.round();
    assert.deepEqual(fell.journey.rollbacks, ['journey.fr']);
    const [rollback] = dmarcRuns();
    assert.ok(rollback);
    await h.drive(isState('awaiting_approval', 'failed'), rollback.id);
    assert.equal(plainText(card(h, rollback.id).title), 'Roll the DMARC policy of journey.fr back to p=none?');
    assert.deepEqual((await h.core.reports.round()).journey.rollbacks, [], 'said once');
    await approveDmarc(h, rollback.id);
    assert.equal((await h.drive(isState('done', 'failed'), rollback.id)).state, 'done');
    assert.equal(h.core.store.dmarcDomains.get('journey.fr')?.policy, 'none');
  } finally {
    await h.close();
  }
});

test('a mailbox that refuses the login is said once and read again later; the rest of the round goes on', async () => {
  const { h } = await journeyHarness({
    DMARC_IMAP_URL: dovecot.url({ user: 'refused', password: 'not-the-password' }),
  });
  try {
    const first = await h.core.reports.round();
    assert.match(first.mailboxError ?? '', /log in|authentication|refused/i);
    assert.ok(!first.mailboxError?.includes('not-the-password'), 'no password in the error');
    const second = await h.core.reports.round();
    assert.equal(second.mailboxError, first.mailboxError);
    const warnings = h.logLines.filter((line) => line.includes('dmarc mailbox unreadable'));
    assert.equal(warnings.length, 1, 'said once');
    assert.ok(!h.logLines.join('\n').includes('not-the-password'));
    const metrics = await h.core.metrics.text();
    assert.match(metrics, /dkim_dmarc_mailbox_reads_total\{result="failed"\} 2/, 'counted for the operator');
  } finally {
    await h.close();
  }
});
