import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { systemClock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { buildCore, type Core, type CoreOverrides } from '../core.ts';
import { Operations } from '../operations/index.ts';
import { type Health, healthHandler, serveHealth } from '../ops/health.ts';
import { Poller } from '../poller.ts';
import { errorMessage } from '../providers/errors.ts';
import { AckFirst } from './ack-first.ts';
import { Deliveries } from './deliveries.ts';
import { SlackDirectory } from './directory.ts';
import { FormDrafts } from './form-drafts.ts';
import { registerListeners } from './listeners/index.ts';
import { Notifier } from './notifier.ts';
import { boltLogger, httpReceiver, socketReceiver } from './receiver.ts';

export interface Bot {
  core: Core;
  app: App;
  notifier: Notifier;
  poller: Poller;
  /** The watch on finished domains, on WATCH_CRON. */
  watchPoller: Poller;
  /** The HTTP port (events, commands, interactivity at POST /slack/events; GET /healthz). */
  port: number;
  mode: 'http' | 'socket';
  stop(): Promise<void>;
}

export interface BotOptions extends CoreOverrides {
  /** Start the cron poller (off in tests that drive the engine themselves). */
  poll?: boolean;
  /** Socket Mode: how long a ping may wait for its pong, and the unit of the wait before a reconnect (Slack's 5 s). */
  socketPingTimeoutMs?: number;
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
  const ackFirst = new AckFirst(undefined, undefined, (error) =>
    core.log.error('held work failed', { error: errorMessage(error) }),
  );
  const defer = (work: () => void) => ackFirst.defer(work);
  const core = buildCore(config, { directory: new SlackDirectory(client, clock), defer, ...options, clock });
  const ops = new Operations(core);
  const notifier = new Notifier(core.store, client, clock, core.log);
  core.engine.onOutbox(() => defer(() => void notifier.drain()));

  const health: Health = { listening: false, link: appToken ? 'down' : 'n/a' };
  const healthRoute = { path: '/healthz', method: ['GET'], handler: healthHandler(health, core) };
  const logger = boltLogger(core.log, config.logLevel === 'debug');
  const receiver = appToken
    ? socketReceiver(appToken, clientOptions, logger, health, core.log, ackFirst, options.socketPingTimeoutMs)
    : httpReceiver(signingSecret ?? '', logger, healthRoute);
  // No conversation store: the bot keeps its state in SQLite, and the store's middleware runs on every request.
  const app = new App({
    token: botToken,
    clientOptions,
    logger,
    deferInitialization: true,
    receiver,
    convoStore: false,
  });
  const deliveries = new Deliveries(() => clock.now());
  const drafts = new FormDrafts<{ authinfo?: string }>(() => clock.now());
  registerListeners(app, { ops, store: core.store, clock, log: core.log, deliveries, drafts });
  app.error(async (error) => {
    core.log.error('slack listener error', { error: error.message });
  });
  await app.init();

  let healthServer: Server | undefined;
  let boundPort = port;
  if (appToken) {
    await app.start();
    healthServer = await serveHealth(healthHandler(health, core), port);
    boundPort = (healthServer.address() as AddressInfo).port;
  } else {
    const server = (await app.start(port)) as Server;
    boundPort = (server.address() as AddressInfo).port;
    server.prependListener('request', (_request, response) => response.once('close', ackFirst.arrived()));
  }
  const poller = new Poller(
    config.pollCron,
    [
      { name: 'engine', run: () => core.engine.tick() },
      { name: 'notifier', run: () => notifier.drain() },
      // Held like any background work, so that it never lands in the middle of a burst of acks.
      {
        name: 'checkpoint',
        run: () =>
          new Promise<void>((done, fail) =>
            defer(() => {
              try {
                done(core.store.checkpoint());
              } catch (error) {
                fail(error);
              }
            }),
          ),
      },
    ],
    core.log,
  );
  const watchPoller = new Poller(config.watchCron, [{ name: 'watch', run: () => core.watcher.checkAll() }], core.log);
  if (options.poll !== false) {
    poller.start();
    watchPoller.start();
  }
  health.listening = true;
  void notifier.drain();
  core.log.info('dkim-bot started', { mode: appToken ? 'socket' : 'http', port: boundPort });
  return {
    core,
    app,
    notifier,
    poller,
    watchPoller,
    port: boundPort,
    mode: appToken ? 'socket' : 'http',
    async stop() {
      health.listening = false;
      await poller.stop();
      await watchPoller.stop();
      await app.stop();
      ackFirst.flush();
      await new Promise((resolve) => (healthServer ? healthServer.close(resolve) : resolve(undefined)));
      await core.engine.stop();
      await notifier.close();
      core.store.close();
    },
  };
}
