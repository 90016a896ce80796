import { type Logger as BoltLogger, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../log.ts';
import type { Health } from '../ops/health.ts';
import type { AckFirst } from './ack-first.ts';

/** How Slack reaches the bot: Socket Mode (SLACK_APP_TOKEN), or signed HTTP requests on POST /slack/events. */

export /**
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

export function httpReceiver(
  signingSecret: string,
  logger: BoltLogger,
  healthRoute: {
    path: string;
    method: string[];
    handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  },
): HTTPReceiver {
  return new HTTPReceiver({
    signingSecret,
    endpoints: '/slack/events',
    customRoutes: [healthRoute],
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
