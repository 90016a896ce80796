/**
 * The floor of the ack benchmark: a bare Bolt app in HTTP mode built as the bot builds its own (src/slack/app.ts
 * and receiver.ts: the same HTTPReceiver options, Web API client options and App options, deferred initialization,
 * no conversation store) whose `/dkim` listener acks and does nothing else. Whatever the bot takes beyond this is the
 * bot's own. GET /metrics says its garbage collections, CPU time and resident memory only, as the bot's own /metrics does among its figures (prom-client's names). Plain JavaScript run by plain node, as `npm start` runs the compiled bot: no loader either side.
 * Prints `{"port":N}` on stdout once listening; stops on SIGTERM/SIGINT or when stdin closes.
 *
 *   SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… PORT=0 node bench/floor-app.mjs
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { App, HTTPReceiver } from '@slack/bolt';

/** Garbage collections, as prom-client counts them in the bot (its nodejs_gc_duration_seconds): the bench reads both. */
const gcKinds = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
/** @type {Record<string, { count: number, seconds: number }>} */
const collections = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = gcKinds[/** @type {{ kind: number }} */ (entry.detail).kind] ?? 'other';
    collections[kind] ??= { count: 0, seconds: 0 };
    const tally = collections[kind];
    tally.count++;
    tally.seconds += entry.duration / 1000;
  }
}).observe({ entryTypes: ['gc'] });

async function main() {
  const env = process.env;
  const clientOptions = { slackApiUrl: env.SLACK_API_URL, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true };
  /** @type {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} */
  const ok = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  /** @type {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} */
  const gcMetrics = (_req, res) => {
    const cpu = process.cpuUsage();
    const lines = Object.entries(collections).flatMap(([kind, { count, seconds }]) => [
      `nodejs_gc_duration_seconds_sum{kind="${kind}"} ${seconds}`,
      `nodejs_gc_duration_seconds_count{kind="${kind}"} ${count}`,
    ]);
    lines.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    lines.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${lines.join('\n')}\n`);
  };
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    clientOptions,
    deferInitialization: true,
    convoStore: false,
    receiver: new HTTPReceiver({
      signingSecret: env.SLACK_SIGNING_SECRET ?? '',
      endpoints: '/slack/events',
      customRoutes: [
        { path: '/healthz', method: ['GET'], handler: ok },
        { path: '/metrics', method: ['GET'], handler: gcMetrics },
      ],
      unhandledRequestTimeoutMillis: 3001,
    }),
  });
  app.command('/dkim', async ({ ack }) => {
    await ack({ response_type: 'ephemeral', text: 'ok' });
  });
  await app.init();
  /** @type {import('node:http').Server} */
  const server = await app.start(Number(env.PORT ?? 0));

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
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
