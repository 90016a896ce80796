import { parseConfig } from '../dist/config/index.js';
import { buildCore } from '../dist/core.js';
import { silentLogger } from '../dist/log.js';
import { Operations } from '../dist/operations/index.js';

/**
 * Child process of the memory benchmark: start the core on a given database, run one cycle as the poller does (the
 * engine's pass, then the WAL checkpoint, whose worker thread counts in the RSS), report. Plain JavaScript on the
 * built files, run by plain node as `npm start` runs the bot (tsx alone would add 40–50 MiB).
 */
const started = performance.now();
const core = buildCore(
  parseConfig({ DATABASE_PATH: process.argv[2], OVH_APP_KEY: 'k', OVH_APP_SECRET: 's', OVH_CONSUMER_KEY: 'c' }),
  { log: silentLogger },
);
const startupMs = performance.now() - started;
const tickStarted = performance.now();
await core.engine.tick();
await core.store.checkpoint();
new Operations(core).list();
const tickMs = performance.now() - tickStarted;
const activeRuns = core.store.runs.listActive(100_000).length;
globalThis.gc?.();
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    activeRuns,
    rssMiB: memory.rss / 2 ** 20,
    heapMiB: memory.heapUsed / 2 ** 20,
    startupMs,
    tickMs,
  }),
);
core.close();
