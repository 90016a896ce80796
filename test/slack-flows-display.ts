import assert from 'node:assert/strict';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { card, type FlowCase, readyThread, text } from './slack-flow-helpers.ts';
import { latestRun, type SlackHarness } from './slack-harness.ts';

/**
 * What Slack shows, over HTTP and Socket Mode alike: text the bot did not write never becomes markup; cards read in
 * five seconds; a request and its confirmation are one message.
 */

/** Markup an outside string could try to slip in: a channel ping, a disguised link, a mention, a channel, an entity. */
const HOSTILE = 'Internal error <!channel> <https://evil.example/x|Click to fix> & <@U0EVIL> <!here> <#C0EVIL> &amp;';
const FORBIDDEN = ['<!channel>', '<!here>', '<https://evil', '<@U0EVIL>', '<#C0EVIL>', '<\\@u0evil>'];

/** Everything the bot sent Slack: every Web API call, every answer to a response_url, every ack it gave. */
function everythingSent(h: SlackHarness, acks: string[]): string {
  return JSON.stringify([h.slack.calls.map((c) => c.args), h.slack.responses(), acks]);
}

export const displayFlows: Record<string, FlowCase> = {
  'outside text never becomes a mention, a channel ping or a link: provider errors, DNS answers, input, usage texts': {
    async run(h) {
      const acks: string[] = [];
      const ask = async (command: string) => {
        const answer = await h.command(command);
        acks.push(answer.json?.text ?? '');
        return answer.json?.text ?? '';
      };
      // Input echoed back, and the bot's own usage texts with their <placeholders>.
      assert.match(await ask('setup <!here>'), /Not started/);
      assert.match(await ask(`setup x.fr --service ${HOSTILE.split(' ').slice(2, 4).join('')}`), /is not a service/);
      assert.match(await ask('batch'), /transfer example\.fr &lt;authinfo&gt;/);

      // OVH's own words: a 500 that retries cannot clear, then a refusal; both in the thread, the parent, status,
      // list and App Home.
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'hostile.fr', zone: true });
      let calls = 0;
      h.sim.onRequest = (request) => {
        if (!request.path.endsWith('/hostile.fr/dkimSelector')) return undefined;
        calls++;
        return { status: calls <= 8 ? 500 : 403, body: { message: HOSTILE, class: 'Server::InternalServerError' } };
      };
      await ask('setup hostile.fr');
      const run = await h.drive(isState('failed', 'done'), latestRun(h).id);
      assert.equal(run.state, 'failed');
      assert.ok(run.lastError?.endsWith(HOSTILE), 'OVH words kept as they are');
      h.sim.onRequest = undefined;
      assert.match(await ask('status hostile.fr'), /&lt;!channel&gt;/);
      await ask('list');
      await h.event({ type: 'app_home_opened', user: REQUESTER, channel: 'D1', tab: 'home' });
      await h.slack.waitFor(() => h.slack.homeView(REQUESTER));

      // A DNS answer from a zone someone else controls.
      const away = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'away.fr' });
      await ask('setup away.fr');
      const awayRun = latestRun(h);
      await h.drive((r) => r.state === 'waiting_ready', awayRun.id);
      h.sim.setExternalRecord(`${away.selectors[0]}._domainkey.away.fr`, 'CNAME', '<!channel>.<@U0EVIL>.evil.example');
      await h.drive((r) => /evil\.example/.test(String(r.facts.postedDns ?? '')), awayRun.id, 300);

      const sent = everythingSent(h, acks);
      for (const markup of FORBIDDEN) assert.ok(!sent.includes(markup), `${markup} reached Slack as markup`);
      assert.ok(sent.includes('&lt;!channel&gt;'), 'the hostile words are shown, escaped');
      assert.ok(sent.includes('&lt;https://evil.example/x|Click to fix&gt;'), 'the disguised link is shown as text');
      assert.ok(sent.includes('&amp;amp;'), 'an entity in outside text is shown as it was written');
      const thread = h.slack.threadAsText('C1', h.bot.core.store.runs.get(run.id)!.threadTs!);
      assert.match(thread, /Trouble talking to the provider, will try again: .*Internal error &lt;!channel&gt;/);
      assert.match(thread, /Failed while .*Internal error &lt;!channel&gt;/);
    },
  },

  'a card says first what, to which domain, for whom; the approvers without the requester; the parent says when it expires':
    {
      options: { env: { DKIM_APPROVERS: `${APPROVER},${REQUESTER},SAPPROVERS` } },
      async run(h) {
        const { run, parentTs } = await readyThread(h, 'card.fr');
        const approvalCard = card(h, 'C1', parentTs);
        const [first, ...rest] = text(approvalCard).split('\n');
        assert.match(
          first ?? '',
          new RegExp(`^:raised_hand: \\*Enable DKIM signing for card\\.fr\\?\\* — for <@${REQUESTER}>$`),
        );
        const blocks = (approvalCard.blocks ?? []) as { type: string }[];
        assert.equal(blocks[0]?.type, 'section', 'the point first');
        assert.equal(blocks[1]?.type, 'context', 'the details after, smaller');
        assert.match(
          rest.join('\n'),
          /OVH call: `POST \/email\/exchange\/org1\/service\/svc1\/domain\/card\.fr\/dkim\/.*\/enable`/,
        );
        const approvers = rest.find((l) => l.startsWith('Who may approve')) ?? '';
        assert.match(approvers, /<@UAPPROVER>, <!subteam\^SAPPROVERS>/);
        assert.doesNotMatch(approvers, new RegExp(REQUESTER), 'self-approval is off: the requester is not named');
        assert.match(
          approvers,
          /the card expires <!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/,
        );
        const parent = text(h.slack.message('C1', parentTs)!);
        assert.match(parent, /Waiting for approval/);
        assert.match(parent, /the card expires <!date\^/);
        assert.doesNotMatch(parent, /next check/);
        assert.doesNotMatch(parent + text(approvalCard), /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'no ISO stamp shown');
        await h.click(approvalCard, APPROVE_ACTION, APPROVER);
        assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      },
    },

  'a request and its confirmation are one message: a disable is said once, edited when OVH shows it off': {
    options: { env: { ROTATION_GRACE_HOURS: '0' } },
    async run(h) {
      const { run, parentTs } = await readyThread(h, 'once.fr');
      await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, APPROVER);
      assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      const enabling = h.slack.thread('C1', parentTs).filter((m) => /Enabling `/.test(text(m)));
      assert.equal(enabling.length, 1, 'the enable said in one message');
      assert.match(text(enabling[0]!), /OVH took it/);
      assert.ok(enabling[0]!.versions.length >= 2, 'sent, then edited');

      await h.command('rotate once.fr');
      const rotation = await h.drive(isState('awaiting_approval'), latestRun(h).id);
      await h.click(card(h, 'C1', rotation.threadTs!), APPROVE_ACTION, APPROVER);
      assert.equal((await h.drive(isState('done', 'failed'), rotation.id)).state, 'done');
      const thread = h.slack.thread('C1', rotation.threadTs!).map(text);
      assert.equal(thread.filter((t) => /Disabling `/.test(t)).length, 1);
      assert.match(thread.find((t) => /Disabling `/.test(t)) ?? '', /sent: `[^`]+` no longer signs/);
      assert.equal(thread.filter((t) => /Deleting the old key/.test(t)).length, 1);
      assert.equal(thread.filter((t) => /no longer signs/.test(t)).length, 1, 'not said twice');
    },
  },
};
