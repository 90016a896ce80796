import { parseConfig } from '../src/config/index.ts';
import { buildCore } from '../src/core.ts';
import { silentLogger } from '../src/log.ts';
import { Operations } from '../src/operations/index.ts';

/** Child process of the memory benchmark: start the core on a given database, run one cycle, report. */
const started = performance.now();
const core = buildCore(
  parseConfig({ DATABASE_PATH: process.argv[2], OVH_APP_KEY: 'k', OVH_APP_SECRET: 's', OVH_CONSUMER_KEY: 'c' }),
  { log: silentLogger },
);
const startupMs = performance.now() - started;
const tickStarted = performance.now();
await core.engine.tick();
new Operations(core).list();
const tickMs = performance.now() - tickStarted;
const activeRuns = core.store.runs.listActive(100_000).length;
global.gc?.();
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
