import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/log.ts';
import { startBot } from '../src/slack/app.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { SETUP_ALL_ACTION } from '../src/slack/render/scan.ts';
import { testEnv } from '../test/harness.ts';
import { MemoryMailbox } from '../test/sim/memory-mailbox.ts';
import { OvhSim } from '../test/sim/ovh.ts';
import {
  type Args,
  buttonClickBody,
  buttonClickPayload,
  FakeSlack,
  messageLines,
  sendToBot,
  slashCommandBody,
  slashCommandPayload,
} from '../test/sim/slack.ts';
import { trustInProcess } from '../test/sim/tls.ts';
import { DMARC_EVIDENCE_SECONDS, dmarcToTheEnd } from './dmarc.ts';

/**
 * `npm run demo`: the whole `/dkim setup` flow offline. The OVH simulator (HTTPS + DNS), a fake Slack, and the real
 * bot between them (HTTP mode, or Socket Mode with `-- --socket`); a user types the command, an approver clicks
 * Approve, and the thread is printed. `-- --offer pro` or `-- --offer mxplan` hosts the domain on Email Pro or MX
 * Plan instead of Exchange; `-- --rotate` then rotates the key (with a grace period of seconds); `-- --scan` then
 * scans the whole account (four more domains on Exchange, Email Pro and MX Plan), posts the CSV, and sets up the
 * domains that need it with **Set up all**, one approval for the group; `-- --dmarc` then writes SPF and DMARC
 * (`/dkim dmarc`), lets receivers' reports arrive in the reports mailbox, shows the proof, `/dkim report`, and a
 * step-up to quarantine proposed on the reports' evidence (an evidence period of seconds instead of weeks).
 */
const DOMAIN = 'example.fr';
const REQUESTER = 'UALICE';
const APPROVER = 'UBOB';
const SECRET = 'demo-signing-secret';
const APP_TOKEN = 'xapp-demo-not-a-real-token';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'boolean', default: false },
      offer: { type: 'string', default: 'exchange' },
      rotate: { type: 'boolean', default: false },
      scan: { type: 'boolean', default: false },
      dmarc: { type: 'boolean', default: false },
    },
  });
  const rotate = values.rotate;
  const socket = values.socket;
  const offer = values.offer;
  if (!['exchange', 'pro', 'mxplan'].includes(offer)) throw new Error('--offer takes exchange, pro or mxplan');
  const started = Date.now();
  const say = (text: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
  const sim = await OvhSim.start({
    taskDelayMs: 1_000,
    robotDelayMs: 3_000,
    enableDelayMs: 2_000,
    mxPlanDelayMs: 3_000,
  });
  trustInProcess(sim.certPem);
  if (offer === 'exchange') {
    sim.addExchangeDomain({ org: 'hosted-ab12345-1', service: 'hosted-ab12345-1', domain: DOMAIN, zone: true });
  } else if (offer === 'pro') {
    sim.addEmailProDomain({ service: 'emailpro-ab12345-1', domain: DOMAIN, zone: true });
  } else {
    sim.addMxPlanDomain({ domain: DOMAIN, zone: true });
  }
  const slack = await FakeSlack.start({ botToken: 'xoxb-demo-token', ...(socket ? { appToken: APP_TOKEN } : {}) });
  const config = parseConfig(
    testEnv(sim, {
      SLACK_BOT_TOKEN: 'xoxb-demo-token',
      ...(socket ? { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' } : { SLACK_SIGNING_SECRET: SECRET }),
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DKIM_APPROVERS: APPROVER,
      POLL_CRON: '* * * * * *',
      RECHECK_MAX_SECONDS: '2',
      // A grace period of a few seconds, so that the whole rotation shows.
      ROTATION_GRACE_HOURS: '0.002',
      // DMARC: reports read every 2 s; ten seconds of evidence instead of two weeks.
      DMARC_RUA: 'dmarc-reports@reports.example.net',
      DMARC_CRON: '*/2 * * * * *',
      DMARC_STEP_UP_DAYS: String(DMARC_EVIDENCE_SECONDS / 86_400),
      LOG_LEVEL: 'error',
    }),
  );

  const mailbox = new MemoryMailbox();
  const bot = await startBot(config, { log: silentLogger, mailbox });
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  const where = socket ? 'Socket Mode (a WebSocket link to the fake Slack)' : `HTTP mode on ${url}`;
  say(`bot connected in ${where}; OVH simulator at ${sim.endpoint}, its DNS at ${sim.dnsServer}`);
  /** One request to the bot as Slack sends it: a signed POST, or an envelope on the Socket Mode link. */
  const send = async (type: 'slash_commands' | 'interactive', payload: Args, body: string) => {
    const sent = performance.now();
    if (!socket) {
      const answer = await sendToBot(url, SECRET, body);
      return { status: answer.status, text: answer.body, ms: answer.elapsedMs };
    }
    const ack = await slack.socketMode.deliver(type, payload);
    return { status: 200, text: JSON.stringify(ack.payload ?? {}), ms: performance.now() - sent };
  };
  /** A user types `/dkim <text>`; the approver clicks Approve on the card of the run's thread; the run finishes. */
  const type = async (text: string) => {
    say(`<@${REQUESTER}> types: /dkim ${text}`);
    const command = { text, userId: REQUESTER, channelId: 'CDEMO', responseUrl: slack.responseUrl(text) };
    const ack = await send('slash_commands', slashCommandPayload(command), slashCommandBody(command));
    say(`ack ${ack.status} in ${ack.ms.toFixed(0)} ms: ${ack.text ? (JSON.parse(ack.text).text ?? '') : ''}`);
    return text;
  };
  const runToTheEnd = async (text: string, threadIndex = slack.messages('CDEMO').length) => {
    await type(text);
    await approveCard(threadIndex);
  };
  /** The approver clicks Approve on the card of the thread; the run finishes. */
  const approveCard = async (threadIndex: number) => {
    const card = await until(() => {
      const parent = slack.messages('CDEMO')[threadIndex];
      return parent && slack.thread('CDEMO', parent.ts).find((m) => messageLines(m).join(' ').includes('[Approve]'));
    }, 45_000);
    say(`the approval card is posted; <@${APPROVER}> clicks Approve`);
    console.log(`\n${messageLines(card).join('\n')}\n`);
    const clicker = { userId: APPROVER, responseUrl: slack.responseUrl(`click-${threadIndex}`) };
    await send(
      'interactive',
      buttonClickPayload(card, APPROVE_ACTION, clicker),
      buttonClickBody(card, APPROVE_ACTION, clicker),
    );
    await until(
      () => bot.core.store.runs.listFinished(1)[0]?.state === 'done' && bot.core.store.runs.countActive() === 0,
      60_000,
    );
    await until(() => bot.core.store.outbox.pendingCount() === 0, 10_000);
  };
  /** The fleet: four more domains; `/dkim scan`; the CSV; Set up all; one approval for the group. */
  const scanToTheEnd = async () => {
    fleet(sim);
    say(`<@${REQUESTER}> types: /dkim scan`);
    const command = { text: 'scan', userId: REQUESTER, channelId: 'CDEMO', responseUrl: slack.responseUrl('scan') };
    const ack = await send('slash_commands', slashCommandPayload(command), slashCommandBody(command));
    say(`ack ${ack.status} in ${ack.ms.toFixed(0)} ms: ${JSON.parse(ack.text).text}`);
    const file = await until(() => slack.files()[0], 60_000);
    say(`the scan is done; its table is in the thread as ${file.filename}:`);
    console.log(`\n${slack.fileContent(file.id)}`);
    const parent = slack.messages('CDEMO').find((m) => messageLines(m).join(' ').includes('[Set up all'))!;
    say(`<@${REQUESTER}> clicks Set up all`);
    const clicker = { userId: REQUESTER, responseUrl: slack.responseUrl('setup-all') };
    await send(
      'interactive',
      buttonClickPayload(parent, SETUP_ALL_ACTION, clicker),
      buttonClickBody(parent, SETUP_ALL_ACTION, clicker),
    );
    const group = await until(() => bot.core.store.runs.latestOfKind('group'), 10_000);
    const card = await until(() => {
      const ts = bot.core.store.runs.get(group.id)?.threadTs;
      return ts ? slack.thread('CDEMO', ts).find((m) => messageLines(m).join(' ').includes('[Approve]')) : undefined;
    }, 60_000);
    say(`one approval card for the group; <@${APPROVER}> clicks Approve`);
    const approver = { userId: APPROVER, responseUrl: slack.responseUrl('group-approve') };
    await send(
      'interactive',
      buttonClickPayload(card, APPROVE_ACTION, approver),
      buttonClickBody(card, APPROVE_ACTION, approver),
    );
    await until(() => bot.core.store.runs.get(group.id)?.state === 'done', 90_000);
    await until(() => bot.core.store.outbox.pendingCount() === 0, 10_000);
    say(`the group is done (${sim.requests.length} OVH calls in all)`);
  };
  try {
    await runToTheEnd(`setup ${DOMAIN}`, 0);
    say(`DKIM is on (${sim.requests.length} OVH calls, ${slack.calls.length} Slack calls)`);
    if (rotate) {
      await runToTheEnd(`rotate ${DOMAIN}`, 1);
      say(`the rotation is done (${sim.requests.length} OVH calls in all)`);
    }
    if (values.scan) await scanToTheEnd();
    if (values.dmarc) {
      sim.setExternalRecord('mx.ovh.com', 'TXT', 'v=spf1 ip4:188.165.0.0/16 ip4:46.105.0.0/16 ~all');
      await dmarcToTheEnd({ bot, slack, mailbox, say, type, runToTheEnd, approveCard, until, domain: DOMAIN });
    }
    console.log('');
    for (const parent of slack.messages('CDEMO')) {
      console.log('#CDEMO — the thread as Slack shows it:\n');
      console.log(`${slack.threadAsText('CDEMO', parent.ts)}\n`);
    }
  } finally {
    await bot.stop();
    await slack.close();
    await sim.close();
  }
}

/** Four more domains for the scan: Exchange with a key ready, Email Pro with nothing, MX Plan off, and one signing. */
function fleet(sim: OvhSim): void {
  const ready = sim.addExchangeDomain({
    org: 'hosted-ab12345-1',
    service: 'hosted-ab12345-1',
    domain: 'legacy.fr',
    zone: true,
  });
  sim.setSelectorStatus('legacy.fr', ready.selectors[0], 'ready');
  sim.addMailAuthRecords('legacy.fr', { dmarc: 'v=DMARC1; p=none' });
  sim.addEmailProDomain({ service: 'emailpro-ab12345-1', domain: 'shop.fr', zone: true });
  sim.addMailAuthRecords('shop.fr', { spf: 'v=spf1 include:_spf.example.net ~all', dmarc: null });
  sim.addMxPlanDomain({ domain: 'news.fr', zone: true });
  sim.addMailAuthRecords('news.fr', { spf: null });
  sim.addMailAuthRecords(DOMAIN);
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
