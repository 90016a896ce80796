import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Logger as BoltLogger } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import { systemClock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { buildCore, type Core, type CoreOverrides } from '../core.ts';
import type { ApproverDirectory } from '../engine/access.ts';
import { need } from '../engine/invariant.ts';
import { Operations } from '../operations/index.ts';
import { type HealthSources, opsRoutes, serveOps } from '../ops/health.ts';
import type { Metrics } from '../ops/metrics.ts';
import { Poller } from '../poller.ts';
import { errorMessage } from '../providers/errors.ts';
import { AckFirst } from './ack-first.ts';
import { Deliveries } from './deliveries.ts';
import { SlackDirectory } from './directory.ts';
import { FormDrafts } from './form-drafts.ts';
import { registerListeners } from './listeners/index.ts';
import { claimMs, Notifier } from './notifier.ts';
import { boltLogger, httpReceiver, type Link, socketReceiver } from './receiver.ts';
import { slackFetch } from './web-api-fetch.ts';

export interface Bot {
  core: Core;
  app: App;
  notifier: Notifier;
  /** The engine's cycle: due runs, WAL checkpoint. */
  poller: Poller;
  /** The outbox drained to Slack, apart from the engine's cycle: a slow Slack never holds the engine. */
  deliveryPoller: Poller;
  /** The watch on finished domains, on WATCH_CRON. */
  watchPoller: Poller;
  /** What only grows, pruned past RETENTION_DAYS (hourly). */
  retentionPoller: Poller;
  /** The DMARC reports mailbox, the receivers' verdicts and the journey, on DMARC_CRON. */
  dmarcPoller: Poller;
  /** The HTTP port (events, commands, interactivity at POST /slack/events; GET /healthz; GET /metrics). */
  port: number;
  mode: 'http' | 'socket';
  /**
   * A clean stop: no new work is taken, the step in progress commits, the outbox is drained for up to
   * `drainMs` (10 s), the database is closed.
   */
  stop(drainMs?: number): Promise<void>;
}

export interface BotOptions extends CoreOverrides {
  /** Start the cron pollers (off in tests that drive the engine themselves). */
  poll?: boolean;
  /** Socket Mode: how long a ping may wait for its pong, and the unit of the wait before a reconnect (Slack's 5 s). */
  socketPingTimeoutMs?: number;
}

const RETENTION_CRON = '41 * * * *';
const DRAIN_ON_STOP_MS = 10_000;

/**
 * Config → core → Slack app (Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise) → pollers. Wiring only: the
 * receivers are in receiver.ts, the listeners in listeners/, /healthz and /metrics in ops/.
 */
export async function startBot(config: Config, options: BotOptions = {}): Promise<Bot> {
  const { botToken, appToken, signingSecret, port } = config.slack;
  if (!botToken || (!appToken && !signingSecret)) throw new Error('Slack credentials are missing');
  const clock = options.clock ?? systemClock;
  const ackFirst = new AckFirst(undefined, undefined, (error) =>
    core.log.error('held work failed', { error: errorMessage(error) }),
  );
  const defer = (work: () => void) => ackFirst.defer(work);
  // User groups are read through the Web API client, which logs and counts through the core: made just after it.
  let directory: SlackDirectory | undefined;
  const groups: ApproverDirectory = { membersOf: (group) => need(directory, 'the Slack directory').membersOf(group) };
  const core = buildCore(config, { directory: groups, defer, ...options, clock });
  const logger = boltLogger(core.log, config.logLevel === 'debug');
  const clientOptions = slackClientOptions(config, logger, core.metrics);
  const client = new WebClient(botToken, clientOptions);
  directory = new SlackDirectory(client, clock);
  const ops = new Operations(core);
  const notifier = new Notifier(
    core.store,
    client,
    clock,
    core.log,
    { owner: core.boot.id, ms: claimMs(config.slack.timeoutMs) },
    () => ackFirst.turn(),
  );
  core.engine.onOutbox(() => void notifier.drain());

  const link: Link = { state: 'down' };
  let listening = false;
  const pollers = buildPollers(config, core, notifier, () => ackFirst.turn());
  const sources: HealthSources = {
    store: core.store,
    listening: () => listening,
    ...(appToken ? { link: () => link.state } : {}),
    ...(options.poll !== false ? { poller: pollerHealth(pollers.poller, core.pollIntervalMs) } : {}),
    now: () => Date.now(),
  };
  const routes = opsRoutes(sources, core.metrics);
  const receiver = appToken
    ? socketReceiver(appToken, clientOptions, logger, link, core.log, ackFirst, options.socketPingTimeoutMs)
    : httpReceiver(signingSecret ?? '', logger, routes);
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

  let opsServer: Server | undefined;
  let boundPort = port;
  if (appToken) {
    await app.start();
    opsServer = await serveOps(routes, port);
    boundPort = (opsServer.address() as AddressInfo).port;
  } else {
    const server = (await app.start(port)) as Server;
    boundPort = (server.address() as AddressInfo).port;
    server.prependListener('request', (_request, response) => response.once('close', ackFirst.arrived()));
  }
  if (options.poll !== false) for (const poller of Object.values(pollers)) poller.start();
  listening = true;
  void notifier.drain();
  core.log.info('dkim-bot started', { mode: appToken ? 'socket' : 'http', port: boundPort });
  return {
    core,
    app,
    notifier,
    ...pollers,
    port: boundPort,
    mode: appToken ? 'socket' : 'http',
    async stop(drainMs = DRAIN_ON_STOP_MS) {
      listening = false;
      // No new work: Slack's requests, then every cron; the cycles under way end (their steps commit).
      await app.stop();
      // The engine first: from now on a pass ends after its step in progress, so a poll cycle stepping many runs ends
      // within one step instead of going through every run it found due.
      const engineStopped = core.engine.stop();
      ackFirst.flush();
      await Promise.all(Object.values(pollers).map((poller) => poller.stop()));
      await engineStopped;
      await notifier.drainFor(drainMs);
      await notifier.close();
      await new Promise((resolve) => (opsServer ? opsServer.close(resolve) : resolve(undefined)));
      core.close();
    },
  };
}

/**
 * The crons. All their work is held like any background work (AckFirst): a cycle that falls in the
 * middle of a burst of commands waits for the burst to be answered, instead of stepping the runs it just created
 * while their commands are still being acked.
 */
function buildPollers(config: Config, core: Core, notifier: Notifier, turn: () => Promise<void>) {
  const now = () => Date.now();
  const job = (name: string, run: () => unknown) => ({
    name,
    run: () =>
      turn()
        .then(run)
        .then(() => undefined),
  });
  const poller = new Poller(
    config.pollCron,
    [job('engine', () => core.engine.tick()), job('checkpoint', () => core.store.checkpoint())],
    core.log,
    now,
  );
  const deliveryPoller = new Poller(config.pollCron, [job('notifier', () => notifier.drain())], core.log);
  const watchPoller = new Poller(config.watchCron, [job('watch', () => core.watcher.checkAll())], core.log);
  const retentionPoller = new Poller(RETENTION_CRON, [job('housekeeping', () => core.housekeeping())], core.log);
  const dmarcPoller = new Poller(config.dmarc.cron, [job('dmarc reports', () => core.reports.round())], core.log);
  return { poller, deliveryPoller, watchPoller, retentionPoller, dmarcPoller };
}

function pollerHealth(poller: Poller, periodMs: number): NonNullable<HealthSources['poller']> {
  const startedAt = Date.now();
  return {
    get lastOkAt() {
      return poller.lastOkAt;
    },
    get lastError() {
      return poller.lastError;
    },
    startedAt,
    periodMs,
  };
}

/**
 * Every Slack Web API call: to SLACK_API_URL, within SLACK_TIMEOUT_MS, never retried by the client (the outbox is the
 * one retry mechanism, so a message is never sent twice by two layers), and counted for /metrics.
 */
function slackClientOptions(config: Config, logger: BoltLogger, metrics: Metrics): WebClientOptions {
  return {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // The time limit is slackFetch's: the client's own would leave a timer and a signal alive per call.
    timeout: 0,
    fetch: slackFetch(config.slack.timeoutMs, metrics),
    logger,
  };
}
