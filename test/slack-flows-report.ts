import assert from 'node:assert/strict';
import { FORBIDDEN, HOSTILE_REPORTER, importSpec, seedReports } from './dmarc-report-fixtures.ts';
import { REQUESTER } from './harness.ts';
import { type Args, messageLines } from './sim/slack.ts';
import { assertNothingStarted, type FlowCase } from './slack-flow-helpers.ts';
import type { SlackHarness } from './slack-harness.ts';

/**
 * `/dkim report` and App Home's DMARC lines, over HTTP and Socket Mode alike: the report reaches the asker alone,
 * after the ack; bad input is answered in the ack and reads nothing; what receivers and DNS wrote never becomes markup.
 */

/** Every mrkdwn text object of the blocks, wherever it sits. */
function mrkdwnTexts(blocks: unknown): Args[] {
  const found: Args[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value && typeof value === 'object') {
      const object = value as Args;
      if (object.type === 'mrkdwn') found.push(object);
      for (const child of Object.values(object)) walk(child);
    }
  };
  walk(blocks);
  return found;
}

function assertNoMarkup(sent: string): void {
  for (const markup of FORBIDDEN) assert.ok(!sent.includes(markup), `${markup} reached Slack as markup`);
}

/** The report as the asker sees it, once it followed the ack. */
async function reportFor(h: SlackHarness, command: string) {
  const answer = await h.command(command);
  assert.equal(answer.status, 200);
  assert.equal(answer.json?.text, undefined, 'nothing in the ack: the report follows it');
  const [response] = await h.slack.waitFor(() => {
    const posted = h.slack.responses(answer.responseUrlId);
    return posted.length > 0 && posted;
  });
  return response?.body ?? {};
}

export const reportFlows: Record<string, FlowCase> = {
  '/dkim report: the figures with their counts to the asker alone; reporters and reverse names never become markup': {
    async run(h) {
      seedReports(h.bot.core.store, h.sim, h.clock.now());
      const body = await reportFor(h, 'report example.fr');
      assert.equal(body.response_type, 'ephemeral');
      const lines = messageLines(body as { blocks?: unknown[] });
      assert.equal(lines[0], '*DMARC reports for example.fr* · the last 7 days');
      assert.ok(lines.includes('DMARC pass: *97.9% (1,234 of 1,260)*'), lines.join('\n'));
      assert.ok(lines.includes('    · `selector1` of example.fr: 98.0% (1,234 of 1,258)'));
      assert.ok(lines.includes('Aligned SPF pass: 95.2% (1,200 of 1,260)'));
      const sources = lines.filter((l) => /^\d\. `/.test(l));
      assert.match(
        sources[0] ?? '',
        /^1\. `198\.51\.100\.7` \(mail\.relay\.example\.net\) · 24 messages · reported by/,
      );
      assert.match(sources[1] ?? '', /^2\. `203\.0\.113\.9` \(&lt;!channel&gt;\.&lt;https:\/\/evil\.example\|x&gt;\./);
      assert.match(lines.at(-2) ?? '', /^Covered: 2 days, from <!date\^\d+\^/);

      const sent = JSON.stringify(body);
      assertNoMarkup(sent);
      assert.ok(sent.includes('&lt;!channel&gt; &lt;https://evil.example|x&gt; &amp;amp; @here'), 'shown as written');
      assert.ok(HOSTILE_REPORTER.includes('@here'));
      const texts = mrkdwnTexts(body.blocks);
      assert.ok(texts.length >= 3);
      assert.ok(
        texts.every((t) => t.verbatim === true),
        'verbatim: no bare @here, #channel or URL made a mention or a link',
      );
      assert.equal(h.slack.callsOf('chat.postMessage').length, 0, 'nothing in a channel');
      assert.equal(h.slack.callsOf('chat.postEphemeral').length, 0);
      assert.equal(h.bot.core.store.runs.count(), 0, 'no run');
      assert.equal(h.sim.requests.length, 0, 'no OVH call');

      // No report yet: said, with when reports come.
      const none = messageLines((await reportFor(h, 'report quiet.fr 30')) as { blocks?: unknown[] });
      assert.ok(none.includes('No DMARC report for quiet.fr yet.'), none.join('\n'));
      assert.ok(none.some((l) => /Receivers send aggregate reports once a day/.test(l)));
    },
  },

  '/dkim report: bad input is answered in the ack, and nothing is read, written or called': {
    async run(h) {
      const asked: string[] = [];
      for (const [command, expected] of [
        ['report', /^No report: Usage: `\/dkim report example\.fr \[days\]`/],
        ['report example.fr 7 more', /^No report: Usage/],
        ['report <!channel>', /^No report: "&lt;!channel&gt;" is not a domain name/],
        ['report example.fr 0', /"0" is not a number of days: give a whole number from 1 to 400/],
        ['report example.fr <@U0EVIL>', /"&lt;@U0EVIL&gt;" is not a number of days/],
        ['report example.fr 401', /reports are kept 400 days \(DMARC_RETENTION_DAYS\); ask for 400 at most/],
      ] as const) {
        const answer = await h.command(command);
        assert.equal(answer.status, 200);
        assert.equal(answer.json?.response_type, 'ephemeral', command);
        assert.match(answer.json?.text ?? '', expected, command);
        asked.push(answer.responseUrlId);
      }
      assert.equal(h.slack.responses().length, 0, 'the ack was the whole answer');
      assertNoMarkup(JSON.stringify(h.slack.calls));
      assert.equal(
        (h.bot.core.store.db.prepare('SELECT COUNT(*) AS n FROM dmarc_reports').get() as { n: number }).n,
        0,
      );
      await assertNothingStarted(h);
    },
  },

  'App Home: a line per domain reported on in the last 7 days, with DMARC pass and its counts; a hostile name shown as written':
    {
      async run(h) {
        const now = h.clock.now();
        seedReports(h.bot.core.store, h.sim, now);
        importSpec(
          h.bot.core.store,
          { domain: '<!here>.evil.example', reportId: 'evil-1', begin: Math.floor(now / 1000) - 86_400 },
          now,
        );
        await h.event({ type: 'app_home_opened', user: REQUESTER, channel: 'D1', tab: 'home' });
        const home = await h.slack.waitFor(() => h.slack.homeView(REQUESTER));
        const blocks = (home.view.blocks ?? []) as unknown[];
        const lines = messageLines({ blocks });
        const at = lines.indexOf('*DMARC reports* (last 7 days)');
        assert.ok(at >= 0, lines.join('\n'));
        assert.deepEqual(lines.slice(at + 1, at + 4), [
          '*example.fr* · DMARC pass 97.9% (1,234 of 1,260) · aligned DKIM 97.9% (1,234) · aligned SPF 95.2% (1,200) · 2 reporters',
          '*other.fr* · DMARC pass 100% (100 of 100) · aligned DKIM 100% (100) · aligned SPF 100% (100) · 1 reporter',
          '*&lt;!here&gt;.evil.example* · DMARC pass 100% (1 of 1) · aligned DKIM 100% (1) · aligned SPF 100% (1) · 1 reporter',
        ]);
        assert.ok(blocks.length <= 100);
        const sent = JSON.stringify(home.view);
        assertNoMarkup(sent);
        const dmarc = mrkdwnTexts(blocks).filter((t) => /DMARC/.test(String(t.text)));
        assert.ok(dmarc.length > 0 && dmarc.every((t) => t.verbatim === true), 'domains are not made links');
      },
    },
};
