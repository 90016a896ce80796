import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger as BoltLogger, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Logger } from '../log.ts';
import type { AckFirst } from './ack-first.ts';

/** The Socket Mode link to Slack, as the health check follows it. */
export interface Link {
  state: 'up' | 'down';
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** How Slack reaches the bot: Socket Mode (SLACK_APP_TOKEN), or signed HTTP requests on POST /slack/events. */

export /**
 * Socket Mode, with the link's state kept for the health check. The client says `close` the moment the link drops
 * and `reconnecting` only seconds later; `connected` once Slack's hello arrived on the new link.
 */
function socketReceiver(
  appToken: string,
  clientOptions: WebClientOptions,
  logger: BoltLogger,
  link: Link,
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
  const set = (state: Link['state']) => () => {
    if (link.state !== state) log.info('slack link', { link: state });
    link.state = state;
  };
  receiver.client.on('connected', set('up'));
  receiver.client.on('ws_message', () => ackFirst.touched());
  for (const down of ['close', 'disconnecting', 'disconnected', 'reconnecting']) receiver.client.on(down, set('down'));
  return receiver;
}

/** HTTP mode: Slack's requests on POST /slack/events, an operator's on GET /healthz and GET /metrics, one port. */
export function httpReceiver(
  signingSecret: string,
  logger: BoltLogger,
  routes: { health: Route; scrape: Route },
): HTTPReceiver {
  return new HTTPReceiver({
    signingSecret,
    endpoints: '/slack/events',
    customRoutes: [
      { path: '/healthz', method: ['GET'], handler: routes.health },
      { path: '/metrics', method: ['GET'], handler: routes.scrape },
    ],
    logger,
    unhandledRequestTimeoutMillis: 3001,
  });
}

export /**
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
