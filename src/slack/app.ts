import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Logger as BoltLogger, HTTPReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { systemClock } from '../clock.ts';
import type { Config } from '../config.ts';
import { buildCore, type Core, type CoreOverrides } from '../core.ts';
import type { Logger } from '../log.ts';
import { Operations } from '../operations.ts';
import { Poller } from '../poller.ts';
import * as approvalActions from './actions/approval.ts';
import * as dkimCommand from './commands/dkim.ts';
import { SlackDirectory } from './directory.ts';
import * as homeEvents from './events/home.ts';
import { Notifier } from './notifier.ts';
import * as batchViews from './views/batch.ts';

export interface Bot {
  core: Core;
  app: App;
  notifier: Notifier;
  poller: Poller;
  /** The HTTP port (events, commands, interactivity at POST /slack/events; GET /healthz). */
  port: number;
  mode: 'http' | 'socket';
  stop(): Promise<void>;
}

export interface BotOptions extends CoreOverrides {
  /** Start the cron poller (off in tests that drive the engine themselves). */
  poll?: boolean;
}

/**
 * Config → core → Slack app (Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise) → poller. The Web API client
 * does not retry by itself: the outbox is the retry mechanism, so a message is never sent twice by two layers.
 */
export async function startBot(config: Config, options: BotOptions = {}): Promise<Bot> {
  const { botToken, appToken, signingSecret, apiUrl, port } = config.slack;
  if (!botToken || (!appToken && !signingSecret)) throw new Error('Slack credentials are missing');
  const clock = options.clock ?? systemClock;
  const clientOptions = { slackApiUrl: apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true };
  const client = new WebClient(botToken, clientOptions);
  const core = buildCore(config, { directory: new SlackDirectory(client, clock), ...options, clock });
  const ops = new Operations(core);
  const notifier = new Notifier(core.store, client, clock, core.log);
  core.engine.onOutbox(() => void notifier.drain());

  let healthy = false;
  const health = { path: '/healthz', method: ['GET'], handler: healthHandler(() => healthy, core) };
  const logger = boltLogger(core.log);
  const app = appToken
    ? new App({ token: botToken, appToken, socketMode: true, clientOptions, logger, deferInitialization: true })
    : new App({
        token: botToken,
        clientOptions,
        logger,
        deferInitialization: true,
        receiver: new HTTPReceiver({
          signingSecret: signingSecret!,
          endpoints: '/slack/events',
          customRoutes: [health],
          logger,
          unhandledRequestTimeoutMillis: 3001,
        }),
      });
  dkimCommand.register(app, ops);
  approvalActions.register(app, ops, core.log);
  homeEvents.register(app, core.store, clock);
  batchViews.register(app, ops);
  app.error(async (error) => {
    core.log.error('slack listener error', { error: error.message });
  });
  await app.init();

  let healthServer: Server | undefined;
  let boundPort = port;
  if (appToken) {
    await app.start();
    healthServer = await listen(createServer(healthHandler(() => healthy, core)), port);
    boundPort = (healthServer.address() as AddressInfo).port;
  } else {
    const server = (await app.start(port)) as Server;
    boundPort = (server.address() as AddressInfo).port;
  }
  const poller = new Poller(
    config.pollCron,
    [
      { name: 'engine', run: () => core.engine.tick() },
      { name: 'notifier', run: () => notifier.drain() },
    ],
    core.log,
  );
  if (options.poll !== false) poller.start();
  healthy = true;
  void notifier.drain();
  core.log.info('dkim-bot started', { mode: appToken ? 'socket' : 'http', port: boundPort });
  return {
    core,
    app,
    notifier,
    poller,
    port: boundPort,
    mode: appToken ? 'socket' : 'http',
    async stop() {
      healthy = false;
      await poller.stop();
      await app.stop();
      await new Promise((resolve) => (healthServer ? healthServer.close(resolve) : resolve(undefined)));
      await core.engine.stop();
      await notifier.close();
      core.store.close();
    },
  };
}

function healthHandler(healthy: () => boolean, core: Core) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    const ok = healthy();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, activeRuns: ok ? core.store.runs.listActive(10_000).length : undefined }));
  };
}

function listen(server: Server, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

/** Bolt's logs through ours, so they are redacted like every other line. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return {
    debug: (...args) => log.debug(`bolt: ${text(args)}`),
    info: (...args) => log.info(`bolt: ${text(args)}`),
    warn: (...args) => log.warn(`bolt: ${text(args)}`),
    error: (...args) => log.error(`bolt: ${text(args)}`),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
