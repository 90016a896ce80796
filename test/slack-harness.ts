import { randomUUID } from 'node:crypto';
import { FakeClock } from '../src/clock.ts';
import { parseConfig, secretValues } from '../src/config.ts';
import type { Run } from '../src/domain/runs.ts';
import { createLogger, makeRedactor } from '../src/log.ts';
import { type Bot, startBot } from '../src/slack/app.ts';
import { REQUESTER, seeded, testEnv } from './harness.ts';
import { OvhSim, type OvhSimOptions } from './sim/ovh.ts';
import {
  type BotAnswer,
  buttonClickBody,
  FakeSlack,
  type FakeSlackOptions,
  type SendToBotOptions,
  type StoredMessage,
  sendToBot,
  slashCommandBody,
} from './sim/slack.ts';
import { SmtpSim } from './sim/smtp.ts';
import { trustInProcess } from './sim/tls.ts';
import { VtexSim } from './sim/vtex.ts';

/** The real bot in HTTP mode, between a fake Slack and the OVH simulator, on one fake clock. */
export interface SlackHarness {
  clock: FakeClock;
  sim: OvhSim;
  slack: FakeSlack;
  vtex: VtexSim;
  smtp: SmtpSim;
  bot: Bot;
  env: NodeJS.ProcessEnv;
  logLines: string[];
  url: string;
  secret: string;
  command(text: string, options?: { user?: string; channel?: string } & SendToBotOptions): Promise<CommandAnswer>;
  click(message: StoredMessage, actionId: string, user: string): Promise<BotAnswer & { responseUrlId: string }>;
  /** Steps due runs and delivers the outbox, moving the fake clock to the next due time, until `until` holds. */
  drive(until: (run: Run) => boolean, runId: number, maxRounds?: number): Promise<Run>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface CommandAnswer extends BotAnswer {
  json: { response_type?: string; text?: string } | undefined;
  responseUrlId: string;
}

export async function startSlackHarness(
  options: { sim?: OvhSimOptions; slack?: FakeSlackOptions; env?: NodeJS.ProcessEnv; vtexToken?: string } = {},
): Promise<SlackHarness> {
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock, ...options.sim });
  trustInProcess(sim.certPem);
  const slack = await FakeSlack.start({ botToken: 'xoxb-test-bot-token-0001', ...options.slack });
  const vtex = await VtexSim.start();
  const smtp = await SmtpSim.start();
  const env = testEnv(sim, {
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
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
  const boot = () =>
    startBot(parseConfig(env), {
      clock,
      env,
      log,
      poll: false,
      retry: { attempts: 6, baseMs: 200, maxMs: 5_000 },
      random: seeded(11),
    });
  let bot = await boot();
  const secret = env.SLACK_SIGNING_SECRET!;
  const harness: SlackHarness = {
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
    async command(text, { user = REQUESTER, channel = 'C1', ...send } = {}) {
      const responseUrlId = randomUUID();
      const body = slashCommandBody({
        text,
        userId: user,
        channelId: channel,
        responseUrl: slack.responseUrl(responseUrlId),
      });
      const answer = await sendToBot(harness.url, secret, body, send);
      let json: CommandAnswer['json'];
      try {
        json = answer.body ? JSON.parse(answer.body) : undefined;
      } catch {
        json = undefined;
      }
      return { ...answer, json, responseUrlId };
    },
    async click(message, actionId, user) {
      const responseUrlId = randomUUID();
      const body = buttonClickBody(message, actionId, { userId: user, responseUrl: slack.responseUrl(responseUrlId) });
      return { ...(await sendToBot(harness.url, secret, body)), responseUrlId };
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
      await bot.stop();
      bot = await boot();
    },
    async close() {
      await bot.stop();
      await slack.close();
      await vtex.close();
      await smtp.close();
      await sim.close();
    },
  };
  return harness;
}

/** The run the harness's last setup created. */
export function latestRun(h: SlackHarness): Run {
  const row = h.bot.core.store.db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number };
  return h.bot.core.store.runs.get(row.id)!;
}
