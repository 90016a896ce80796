import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Logger as BoltLogger, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { systemClock } from '../clock.ts';
import type { Config } from '../config.ts';
import { buildCore, type Core, type CoreOverrides } from '../core.ts';
import type { Logger } from '../log.ts';
import { Operations } from '../operations.ts';
import { Poller } from '../poller.ts';
import { errorMessage } from '../providers/errors.ts';
import { AckFirst } from './ack-first.ts';
import * as approvalActions from './actions/approval.ts';
import * as choiceActions from './actions/choice.ts';
import * as scanActions from './actions/scan.ts';
import * as dkimCommand from './commands/dkim.ts';
import { Deliveries } from './deliveries.ts';
import { SlackDirectory } from './directory.ts';
import * as homeEvents from './events/home.ts';
import { Notifier } from './notifier.ts';
import * as batchViews from './views/batch.ts';
import { FormDrafts } from './views/form-drafts.ts';

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

/** What `GET /healthz` reports: the listener is up and, in Socket Mode, the link to Slack is open. */
interface Health {
  listening: boolean;
  link: 'up' | 'down' | 'n/a';
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
    : new HTTPReceiver({
        signingSecret: signingSecret!,
        endpoints: '/slack/events',
        customRoutes: [healthRoute],
        logger,
        unhandledRequestTimeoutMillis: 3001,
      });
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
  dkimCommand.register(app, ops, deliveries, drafts);
  approvalActions.register(app, ops, core.log, deliveries);
  choiceActions.register(app, ops, core.log, deliveries);
  scanActions.register(app, ops, core.log, deliveries);
  homeEvents.register(app, core.store, clock);
  batchViews.register(app, ops, deliveries, drafts);
  app.error(async (error) => {
    core.log.error('slack listener error', { error: error.message });
  });
  await app.init();

  let healthServer: Server | undefined;
  let boundPort = port;
  if (appToken) {
    await app.start();
    healthServer = await listen(createServer(healthHandler(health, core)), port);
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

/**
 * Socket Mode, with the link's state kept for the health check. The client says `close` the moment the link drops
 * and `reconnecting` only seconds later; `connected` once Slack's hello arrived on the new link.
 */
function socketReceiver(
  appToken: string,
  clientOptions: { slackApiUrl: string },
  logger: BoltLogger,
  health: Health,
  log: Logger,
  ackFirst: AckFirst,
  pingTimeoutMs?: number,
): SocketModeReceiver {
  const receiver = new SocketModeReceiver({
    appToken,
    logger,
    // Bolt would copy the app's client options here itself; given our own receiver, we pass them: apps.connections.open
    // must go to SLACK_API_URL like every other call.
    installerOptions: { clientOptions },
    ...(pingTimeoutMs ? { clientPingTimeout: pingTimeoutMs } : {}),
  });
  const set = (link: Health['link']) => () => {
    if (health.link !== link) log.info('slack link', { link });
    health.link = link;
  };
  receiver.client.on('connected', set('up'));
  receiver.client.on('ws_message', () => ackFirst.touched());
  for (const down of ['close', 'disconnecting', 'disconnected', 'reconnecting']) receiver.client.on(down, set('down'));
  return receiver;
}

function healthHandler(health: Health, core: Core) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    const ok = health.listening && health.link !== 'down';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    const link = health.link === 'n/a' ? {} : { link: health.link };
    res.end(JSON.stringify({ ok, ...link, activeRuns: ok ? core.store.runs.countActive() : undefined }));
  };
}

function listen(server: Server, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

/**
 * Bolt's logs through ours, so they are redacted like every other line. Its debug lines (several per request) are
 * not even formatted unless LOG_LEVEL is debug.
 */
function boltLogger(log: Logger, debug: boolean): BoltLogger {
  let level = debug ? LogLevel.DEBUG : LogLevel.INFO;
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return {
    debug: (...args) => {
      if (level === LogLevel.DEBUG) log.debug(`bolt: ${text(args)}`);
    },
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
