import assert from 'node:assert/strict';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { FORBIDDEN, HOSTILE_REPORTER } from './dmarc-report-fixtures.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { MemoryMailbox } from './sim/memory-mailbox.ts';
import { assertNothingStarted, card, type FlowCase, readyThread, text } from './slack-flow-helpers.ts';
import { latestRun, type SlackHarness } from './slack-harness.ts';

/**
 * `/dkim dmarc` over HTTP and Socket Mode alike: the card clicked, the records written; the receivers' reports (a
 * reporter named to do harm among them) read on the bot's round, the proof said once in the setup's thread naming the
 * requester, then on enough evidence a step-up card, approved by a click.
 */

const RUA = 'dmarc-reports@reports.example.net';
const DAY_MS = 86_400_000;
/** One mailbox per process: the flows of a file run one after the other, each draining what it delivered. */
const mailbox = new MemoryMailbox();

const signed = (domain: string, selector: string, count: number) => ({
  sourceIp: '198.51.100.7',
  count,
  dkim: 'pass' as const,
  spf: 'pass' as const,
  headerFrom: domain,
  dkimResults: [{ domain, selector, result: 'pass' }],
});

function assertNoMarkup(h: SlackHarness): void {
  const sent = JSON.stringify(h.slack.calls);
  for (const markup of FORBIDDEN) assert.ok(!sent.includes(markup), `${markup} reached Slack as markup`);
}

/** The dmarc run started last, driven to its card, approved by a click, driven to its end. */
async function approveDmarcCard(h: SlackHarness, title: RegExp): Promise<string> {
  const run = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
  assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
  const shown = card(h, 'C1', h.bot.core.store.runs.get(run.id)?.threadTs ?? '');
  assert.match(text(shown), title);
  assert.equal((await h.click(shown, APPROVE_ACTION, APPROVER)).status, 200);
  const done = await h.drive(isState('done', 'failed'), run.id);
  assert.equal(done.state, 'done', done.lastError ?? '');
  return text(shown);
}

const dmarcTxt = (h: SlackHarness, domain: string) =>
  h.sim.zoneRecords(domain).find((r) => r.subDomain === '_dmarc' && r.fieldType === 'TXT')?.target;

export const dmarcFlows: Record<string, FlowCase> = {
  '/dkim dmarc: the card clicked, the records written; the proof said once with a hostile reporter escaped; a step-up on evidence':
    {
      options: { env: { DMARC_RUA: RUA, DMARC_STEP_UP_DAYS: '1' }, mailbox },
      async run(h) {
        mailbox.now = () => h.clock.now();
        h.sim.setExternalRecord('mx.ovh.com', 'TXT', 'v=spf1 ip4:188.165.0.0/16 ~all');
        const { run: setup, parentTs } = await readyThread(h, 'proof.fr');
        await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, APPROVER);
        assert.equal((await h.drive(isState('done'), setup.id)).state, 'done');

        const answer = await h.command('dmarc proof.fr');
        assert.equal(answer.json?.response_type, 'ephemeral');
        assert.match(answer.json?.text ?? '', /Reading the SPF and DMARC records of proof\.fr \(run #\d+\)/);
        const shown = await approveDmarcCard(h, /Write the SPF and DMARC records of proof\.fr\?/);
        assert.match(shown, /SPF at `proof\.fr`: none → `v=spf1 include:mx\.ovh\.com ~all`/);
        assert.equal(dmarcTxt(h, 'proof.fr'), `"v=DMARC1; p=none; rua=mailto:${RUA}; adkim=r; aspf=r"`);

        const selector = h.bot.core.store.watches.get('proof.fr')?.selector ?? '';
        mailbox.deliver(HOSTILE_REPORTER, 'proof.fr', [signed('proof.fr', selector, 150)]);
        const round = await h.bot.core.reports.round();
        assert.equal(round.read?.imported, 1);
        assert.deepEqual(round.said, { proofs: 1, failures: 0 });
        await h.bot.notifier.drain();
        const proof = h.slack
          .thread('C1', parentTs)
          .map(text)
          .filter((t) => t.includes('Receivers confirm'));
        assert.equal(proof.length, 1, h.slack.threadAsText('C1', parentTs));
        assert.match(proof[0] ?? '', new RegExp(`<@${REQUESTER}>`), 'the requester is told');
        assert.match(proof[0] ?? '', /150 messages signed with `[^`]+` passed DKIM at &lt;!channel&gt;/);
        assert.deepEqual((await h.bot.core.reports.round()).said, { proofs: 0, failures: 0 }, 'said once');
        assertNoMarkup(h);

        // A day on, enough passing mail: the journey proposes quarantine, on a card of its own.
        h.clock.set(h.clock.now() + DAY_MS + 60_000);
        mailbox.deliver('google.com', 'proof.fr', [signed('proof.fr', selector, 400)]);
        assert.deepEqual((await h.bot.core.reports.round()).journey.proposed, ['proof.fr']);
        const stepUp = await approveDmarcCard(h, /Step up the DMARC policy of proof\.fr to p=quarantine\?/);
        assert.match(stepUp, /No source failed DMARC: nothing would have been quarantined or rejected\./);
        assert.match(dmarcTxt(h, 'proof.fr') ?? '', /p=quarantine/);
        assert.deepEqual((await h.bot.core.reports.round()).journey.proposed, [], 'not proposed again at once');
        assertNoMarkup(h);

        // Another day: a stray source, reported by a hostile reporter, is named on the card for p=reject, escaped.
        h.clock.set(h.clock.now() + DAY_MS + 60_000);
        mailbox.deliver('google.com', 'proof.fr', [signed('proof.fr', selector, 400)]);
        const stray = { sourceIp: '203.0.113.9', count: 2, dkim: 'fail' as const, spf: 'fail' as const };
        mailbox.deliver(HOSTILE_REPORTER, 'proof.fr', [{ ...stray, headerFrom: 'proof.fr' }]);
        assert.deepEqual((await h.bot.core.reports.round()).journey.proposed, ['proof.fr']);
        const reject = await approveDmarcCard(h, /Step up the DMARC policy of proof\.fr to p=reject\?/);
        assert.match(
          reject,
          /What p=reject would have rejected: 203\.0\.113\.9 \(2 messages, reported by &lt;!channel&gt;/,
        );
        assertNoMarkup(h);
      },
    },

  '/dkim dmarc: bad input is answered in the ack, and nothing starts': {
    options: { env: { DMARC_RUA: RUA } },
    async run(h) {
      for (const [command, expected] of [
        ['dmarc', /^Not started: dmarc takes one domain/],
        ['dmarc a.fr b.fr', /^Not started: dmarc takes one domain/],
        ['dmarc <!channel>', /^Not started: "&lt;!channel&gt;" is not a domain name/],
        ['dmarc a.fr --service pro/..', /is not a service/],
      ] as const) {
        const answer = await h.command(command);
        assert.equal(answer.json?.response_type, 'ephemeral', command);
        assert.match(answer.json?.text ?? '', expected, command);
      }
      assertNoMarkup(h);
      await assertNothingStarted(h);
    },
  },
};
