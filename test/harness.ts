import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../src/clock.ts';
import { parseConfig, secretValues } from '../src/config/index.ts';
import { buildCore, type Core, type CoreOverrides } from '../src/core.ts';
import type { Run } from '../src/domain/runs.ts';
import type { ApproverDirectory } from '../src/engine/access.ts';
import { createLogger, type Logger, makeRedactor } from '../src/log.ts';
import { Operations } from '../src/operations/index.ts';
import { Deliveries } from '../src/slack/deliveries.ts';
import { FormDrafts } from '../src/slack/form-drafts.ts';
import type { ListenerDeps } from '../src/slack/listeners/index.ts';
import { OvhSim, type OvhSimOptions } from './sim/ovh.ts';
import { trustInProcess } from './sim/tls.ts';

export { seeded } from './fixtures.ts';

import { seeded } from './fixtures.ts';

/** The real core (engine, store, node-ovh, DNS resolver) against the OVH simulator, on one fake clock. */
export interface Harness {
  clock: FakeClock;
  sim: OvhSim;
  core: Core;
  ops: Operations;
  env: NodeJS.ProcessEnv;
  logLines: string[];
  /** Steps due runs, moving the fake clock to the next due time, until `until` holds or `maxRounds` pass. */
  drive(until: (run: Run) => boolean, runId: number, maxRounds?: number): Promise<Run>;
  close(): Promise<void>;
}

export const REQUESTER = 'UREQUESTER';
export const APPROVER = 'UAPPROVER';
export const OUTSIDER = 'UOUTSIDER';

export function testEnv(sim: OvhSim, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    SLACK_BOT_TOKEN: 'xoxb-test-bot-token-0001',
    SLACK_SIGNING_SECRET: 'test-signing-secret-0001',
    OVH_ENDPOINT: sim.endpoint,
    OVH_APP_KEY: sim.credentials.appKey,
    OVH_APP_SECRET: sim.credentials.appSecret,
    OVH_CONSUMER_KEY: sim.credentials.consumerKey,
    DNS_SERVERS: sim.dnsServer,
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), 'dkim-bot-')), 'db.sqlite'),
    DKIM_APPROVERS: `${APPROVER},SAPPROVERS`,
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

export async function startHarness(
  options: { sim?: OvhSimOptions; env?: NodeJS.ProcessEnv; core?: CoreOverrides; directory?: ApproverDirectory } = {},
): Promise<Harness> {
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock, ...options.sim });
  trustInProcess(sim.certPem);
  const env = testEnv(sim, options.env);
  const config = parseConfig(env);
  const logLines: string[] = [];
  const log: Logger = createLogger({
    level: 'debug',
    redact: makeRedactor(secretValues(env)),
    write: (line) => logLines.push(line),
    now: () => clock.now(),
  });
  const harness = buildCore(config, {
    clock,
    env,
    log,
    retry: { attempts: 6, baseMs: 200, maxMs: 5_000 },
    random: seeded(7),
    directory: options.directory,
    ...options.core,
  });
  const ops = new Operations(harness);
  return {
    clock,
    sim,
    core: harness,
    ops,
    env,
    logLines,
    async drive(until, runId, maxRounds = 200) {
      for (let round = 0; round < maxRounds; round++) {
        await harness.engine.idle();
        const run = harness.store.runs.get(runId)!;
        if (until(run)) return run;
        const due = harness.store.runs.nextDueAt();
        if (due === undefined) return run;
        clock.set(due);
        await harness.engine.tick();
      }
      throw new Error(`run ${runId} did not reach the expected state in ${maxRounds} rounds`);
    },
    async close() {
      await harness.engine.idle();
      harness.close();
      await sim.close();
    },
  };
}

export const isState =
  (...states: string[]) =>
  (run: Run) =>
    states.includes(run.state);

/** What Slack's listeners are given, over the harness's core: to call a listener's callback without Bolt. */
export function listenerDeps(h: Harness): ListenerDeps {
  return {
    ops: h.ops,
    store: h.core.store,
    clock: h.clock,
    log: h.core.log,
    deliveries: new Deliveries(() => h.clock.now()),
    drafts: new FormDrafts(() => h.clock.now()),
  };
}
