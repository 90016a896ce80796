import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseConfig } from '../dist/config/index.js';
import { buildCore } from '../dist/core.js';
import { silentLogger } from '../dist/log.js';

/**
 * Child process of the retention benchmark: the core on a given database, one retention pass, what it cost. Plain
 * JavaScript on the built files, run by plain node as `npm start` runs the bot.
 */
const core = buildCore(
  parseConfig({ DATABASE_PATH: process.argv[2], OVH_APP_KEY: 'k', OVH_APP_SECRET: 's', OVH_CONSUMER_KEY: 'c' }),
  { log: silentLogger },
);
const rss = () => process.memoryUsage().rss / 2 ** 20;
await core.engine.tick();
const rssBeforeMiB = rss();
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const started = performance.now();
const pruned = await core.retention.pass();
const passMs = performance.now() - started;
delay.disable();
console.log(
  JSON.stringify({
    rssBeforeMiB,
    rssAfterMiB: rss(),
    pruned,
    passMs,
    maxLoopDelayMs: delay.max / 1e6,
  }),
);
core.close();
