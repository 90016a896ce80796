import { parseConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { startBot } from '../src/slack/app.ts';
import { APPROVE_ACTION } from '../src/slack/views/blocks.ts';
import { testEnv } from '../test/harness.ts';
import { OvhSim } from '../test/sim/ovh.ts';
import { buttonClickBody, FakeSlack, messageLines, sendToBot, slashCommandBody } from '../test/sim/slack.ts';
import { trustInProcess } from '../test/sim/tls.ts';

/**
 * `npm run demo`: the whole `/dkim setup` flow offline. The OVH simulator (HTTPS + DNS), a fake Slack, and the real
 * bot in HTTP mode between them; a user types the command, an approver clicks Approve, and the thread is printed.
 */
const DOMAIN = 'example.fr';
const REQUESTER = 'UALICE';
const APPROVER = 'UBOB';
const SECRET = 'demo-signing-secret';

async function main(): Promise<void> {
  const started = Date.now();
  const say = (text: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
  const sim = await OvhSim.start({ taskDelayMs: 1_000, robotDelayMs: 3_000, enableDelayMs: 2_000 });
  trustInProcess(sim.certPem);
  sim.addExchangeDomain({ org: 'hosted-ab12345-1', service: 'hosted-ab12345-1', domain: DOMAIN, zone: true });
  const slack = await FakeSlack.start({ botToken: 'xoxb-demo-token' });
  const config = parseConfig(
    testEnv(sim, {
      SLACK_BOT_TOKEN: 'xoxb-demo-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DKIM_APPROVERS: APPROVER,
      POLL_CRON: '* * * * * *',
      RECHECK_MAX_SECONDS: '2',
      LOG_LEVEL: 'error',
    }),
  );

  const bot = await startBot(config, { log: silentLogger });
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  say(`bot listening in HTTP mode on ${url}; OVH simulator at ${sim.endpoint}, its DNS at ${sim.dnsServer}`);
  try {
    say(`<@${REQUESTER}> types: /dkim setup ${DOMAIN}`);
    const body = slashCommandBody({
      text: `setup ${DOMAIN}`,
      userId: REQUESTER,
      channelId: 'CDEMO',
      responseUrl: slack.responseUrl('setup'),
    });
    const ack = await sendToBot(url, SECRET, body);
    say(`ack ${ack.status} in ${ack.elapsedMs.toFixed(0)} ms: ${JSON.parse(ack.body).text}`);

    const card = await until(() => {
      const parent = slack.messages('CDEMO')[0];
      return parent && slack.thread('CDEMO', parent.ts).find((m) => messageLines(m).join(' ').includes('[Approve]'));
    }, 45_000);
    say(`the approval card is posted; <@${APPROVER}> clicks Approve`);
    await sendToBot(
      url,
      SECRET,
      buttonClickBody(card, APPROVE_ACTION, { userId: APPROVER, responseUrl: slack.responseUrl('click') }),
    );
    await until(() => bot.core.store.runs.latestForDomain(DOMAIN)?.state === 'done', 45_000);
    await until(() => bot.core.store.outbox.pendingCount() === 0, 10_000);
    say(`DKIM is in production (${sim.requests.length} OVH calls, ${slack.calls.length} Slack calls)\n`);
    const parent = slack.messages('CDEMO')[0]!;
    console.log('#CDEMO — the thread as Slack shows it:\n');
    console.log(slack.threadAsText('CDEMO', parent.ts));
  } finally {
    await bot.stop();
    await slack.close();
    await sim.close();
  }
}

/** Bounded polling: the demo runs on the real clock. */
async function until<T>(probe: () => T | undefined | false | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('the demo did not reach the next step in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
