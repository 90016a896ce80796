import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseConfig } from '../src/config/index.ts';
import { buildCore } from '../src/core.ts';
import { silentLogger } from '../src/log.ts';

/** Child process of the retention benchmark: the core on a given database, one retention pass, what it cost. */
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
