/**
 * The floor of the ack benchmark: a bare Bolt app in HTTP mode with the bot's receiver (src/slack/app.ts: same
 * HTTPReceiver options, same Web API client options, deferred initialization) whose `/dkim` listener acks and does
 * nothing else. Whatever the bot takes beyond this is the bot's own. Prints `{"port":N}` on stdout once listening;
 * stops on SIGTERM/SIGINT or when stdin closes.
 *
 *   SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… PORT=0 node --import tsx bench/floor-app.ts
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';

async function main(): Promise<void> {
  const env = process.env;
  const botToken = env.SLACK_BOT_TOKEN!;
  const signingSecret = env.SLACK_SIGNING_SECRET!;
  const slackApiUrl = env.SLACK_API_URL!;
  const clientOptions = { slackApiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true };
  const health = {
    path: '/healthz',
    method: ['GET'],
    handler: (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    },
  };
  const app = new App({
    token: botToken,
    clientOptions,
    deferInitialization: true,
    receiver: new HTTPReceiver({
      signingSecret,
      endpoints: '/slack/events',
      customRoutes: [health],
      unhandledRequestTimeoutMillis: 3001,
    }),
  });
  app.command('/dkim', async ({ ack }) => {
    await ack({ response_type: 'ephemeral', text: 'ok' });
  });
  await app.init();
  const server = (await app.start(Number(env.PORT ?? 0))) as Server;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
