import { randomUUID } from 'node:crypto';
import { FakeClock } from '../src/clock.ts';
import { parseConfig, secretValues } from '../src/config/index.ts';
import type { Run } from '../src/domain/runs.ts';
import { createLogger, makeRedactor } from '../src/log.ts';
import type { ReportMailbox } from '../src/providers/imap.ts';
import { type Bot, startBot } from '../src/slack/app.ts';
import { REQUESTER, seeded, testEnv } from './harness.ts';
import { OvhSim, type OvhSimOptions } from './sim/ovh.ts';
import {
  type Args,
  type BotAnswer,
  buttonClickBody,
  buttonClickPayload,
  eventCallbackBody,
  eventCallbackPayload,
  FakeSlack,
  type FakeSlackOptions,
  type SendToBotOptions,
  type SocketModeSim,
  type StoredMessage,
  sendToBot,
  slashCommandBody,
  slashCommandPayload,
  type ViewSubmissionInput,
  viewSubmissionBody,
  viewSubmissionPayload,
} from './sim/slack.ts';
import { SmtpSim } from './sim/smtp.ts';
import { trustInProcess } from './sim/tls.ts';
import { VtexSim } from './sim/vtex.ts';

/** How Slack reaches the bot: signed HTTP requests, or envelopes over a Socket Mode link. */
export type SlackMode = 'http' | 'socket';

export const APP_TOKEN = 'xapp-fake-app-token';
/** Small enough for reconnects in tests to take a fraction of a second (Slack's client waits this long per failure). */
const SOCKET_PING_TIMEOUT_MS = 150;

/** The real bot between a fake Slack (HTTP or Socket Mode) and the OVH simulator, on one fake clock. */
export interface SlackHarness {
  mode: SlackMode;
  clock: FakeClock;
  sim: OvhSim;
  slack: FakeSlack;
  vtex: VtexSim;
  smtp: SmtpSim;
  bot: Bot;
  env: NodeJS.ProcessEnv;
  logLines: string[];
  /** HTTP mode: where Slack posts (POST /slack/events). */
  url: string;
  secret: string;
  /** Socket Mode: the simulated link (throws in HTTP mode). */
  socket: SocketModeSim;
  command(text: string, options?: { user?: string; channel?: string } & SendToBotOptions): Promise<CommandAnswer>;
  click(message: StoredMessage, actionId: string, user: string): Promise<BotAnswer & { responseUrlId: string }>;
  submitView(input: ViewSubmissionInput): Promise<BotAnswer & { json: Args | undefined }>;
  event(event: Args): Promise<BotAnswer>;
  /** Steps due runs and delivers the outbox, moving the fake clock to the next due time, until `until` holds. */
  drive(until: (run: Run) => boolean, runId: number, maxRounds?: number): Promise<Run>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface CommandAnswer extends BotAnswer {
  json: { response_type?: string; text?: string } | undefined;
  responseUrlId: string;
}

type Envelope = 'slash_commands' | 'interactive' | 'events_api';

export async function startSlackHarness(
  options: {
    mode?: SlackMode;
    sim?: OvhSimOptions;
    slack?: FakeSlackOptions;
    env?: NodeJS.ProcessEnv;
    vtexToken?: string;
    /** Start the bot's pollers on POLL_CRON (off by default: tests drive the engine themselves). */
    poll?: boolean;
    /** The DMARC reports mailbox (none unless given). */
    mailbox?: ReportMailbox;
  } = {},
): Promise<SlackHarness> {
  const mode = options.mode ?? 'http';
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock, ...options.sim });
  trustInProcess(sim.certPem);
  const socketMode = mode === 'socket' ? { appToken: APP_TOKEN, socketMode: { redeliverAfterMs: 1_000 } } : {};
  const slack = await FakeSlack.start({ botToken: 'xoxb-test-bot-token-0001', ...socketMode, ...options.slack });
  const vtex = await VtexSim.start();
  const smtp = await SmtpSim.start();
  const env = testEnv(sim, {
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    ...(mode === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' } : {}),
    VTEX_ACCOUNT: 'simstore',
    VTEX_BASE_URL: vtex.baseUrl,
    VTEX_APP_KEY: vtex.appKey,
    VTEX_APP_TOKEN: options.vtexToken ?? vtex.appToken,
    OVH_BATCH_ACCOUNT: 'ab1234-ovh',
    OVH_BATCH_PASSPHRASE: 'Test Batch Passphrase 42',
    SMTP_URL: smtp.url,
    BATCH_FROM: 'dkim-bot@example.fr',
    ...options.env,
  });
  const logLines: string[] = [];
  const log = createLogger({
    level: 'debug',
    redact: makeRedactor(secretValues(env)),
    write: (line) => logLines.push(line),
    now: () => clock.now(),
  });
  const boot = async () => {
    const started = await startBot(parseConfig(env), {
      clock,
      env,
      log,
      poll: options.poll ?? false,
      retry: { attempts: 6, baseMs: 200, maxMs: 5_000 },
      random: seeded(11),
      socketPingTimeoutMs: SOCKET_PING_TIMEOUT_MS,
      ...(options.mailbox ? { mailbox: options.mailbox } : {}),
    });
    if (mode === 'socket') await slack.socketMode.waitFor(() => slack.socketMode.openConnections().length > 0);
    return started;
  };
  let bot = await boot();
  const secret = env.SLACK_SIGNING_SECRET ?? '';

  /** One request to the bot, whichever way Slack reaches it: the HTTP answer, or the envelope's ack as JSON. */
  async function send(type: Envelope, payload: Args, body: string, sendOptions: SendToBotOptions = {}) {
    if (mode === 'http') return sendToBot(harness.url, secret, body, sendOptions);
    const started = performance.now();
    const ack = await slack.socketMode.deliver(type, payload);
    return { status: 200, body: JSON.stringify(ack.payload ?? {}), elapsedMs: performance.now() - started };
  }

  const harness: SlackHarness = {
    mode,
    clock,
    sim,
    slack,
    vtex,
    smtp,
    get bot() {
      return bot;
    },
    env,
    logLines,
    get url() {
      return `http://127.0.0.1:${bot.port}/slack/events`;
    },
    secret,
    get socket() {
      return slack.socketMode;
    },
    async command(text, { user = REQUESTER, channel = 'C1', ...sendOptions } = {}) {
      const responseUrlId = randomUUID();
      const input = { text, userId: user, channelId: channel, responseUrl: slack.responseUrl(responseUrlId) };
      const payload = slashCommandPayload(input);
      const answer = await send('slash_commands', payload, slashCommandBody(input), sendOptions);
      return { ...answer, json: parseJson(answer.body), responseUrlId };
    },
    async click(message, actionId, user) {
      const responseUrlId = randomUUID();
      const input = { userId: user, responseUrl: slack.responseUrl(responseUrlId) };
      const payload = buttonClickPayload(message, actionId, input);
      return { ...(await send('interactive', payload, buttonClickBody(message, actionId, input))), responseUrlId };
    },
    async submitView(input) {
      const answer = await send('interactive', viewSubmissionPayload(input), viewSubmissionBody(input));
      return { ...answer, json: parseJson(answer.body) };
    },
    async event(event) {
      return send('events_api', eventCallbackPayload(event), eventCallbackBody(event));
    },
    async drive(until, runId, maxRounds = 300) {
      for (let round = 0; round < maxRounds; round++) {
        await bot.core.engine.idle();
        await bot.notifier.drain();
        const run = bot.core.store.runs.get(runId)!;
        if (until(run)) return run;
        const due = [bot.core.store.runs.nextDueAt(), bot.core.store.outbox.nextAttemptAt()].filter(
          (t) => t !== undefined,
        );
        if (due.length === 0) return run;
        clock.set(Math.min(...due));
        await bot.core.engine.tick();
      }
      throw new Error(`run ${runId} did not reach the expected state`);
    },
    async restart() {
      await stopBot();
      bot = await boot();
    },
    async close() {
      await stopBot();
      await slack.close();
      await vtex.close();
      await smtp.close();
      await sim.close();
    },
  };

  /** Socket Mode's client closes its link after `stop()` resolves: wait for it, so that the next link is the new bot's. */
  async function stopBot(): Promise<void> {
    await bot.stop();
    if (mode === 'socket') await slack.socketMode.waitFor(() => slack.socketMode.openConnections().length === 0);
  }
  return harness;
}

function parseJson(body: string) {
  try {
    return body ? JSON.parse(body) : undefined;
  } catch {
    return undefined;
  }
}

/** The run the harness's last setup created. */
export function latestRun(h: SlackHarness): Run {
  const row = h.bot.core.store.db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number };
  return h.bot.core.store.runs.get(row.id)!;
}
