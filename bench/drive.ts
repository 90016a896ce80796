import { FakeClock } from '../src/clock.ts';
import { parseConfig } from '../src/config/index.ts';
import { buildCore, type Core } from '../src/core.ts';
import { silentLogger } from '../src/log.ts';
import { Operations } from '../src/operations/index.ts';
import { APPROVER, seeded, testEnv } from '../test/harness.ts';
import { OvhSim } from '../test/sim/ovh.ts';
import { trustInProcess } from '../test/sim/tls.ts';

/**
 * Drives the engine on a simulated clock as an attentive operator would: every due run stepped, every card approved
 * at once, the clock moved to the next due time; `afterRound` says when to stop.
 */
export async function driveApproving(
  core: Core,
  ops: Operations,
  clock: FakeClock,
  afterRound: () => boolean,
): Promise<void> {
  for (let round = 0; round < 100_000; round++) {
    await core.engine.tick();
    await core.engine.idle();
    const pending = core.store.db.prepare(`SELECT id FROM approvals WHERE status = 'pending'`).all() as {
      id: number;
    }[];
    for (const approval of pending) await ops.decide(approval.id, APPROVER, 'approved');
    await core.engine.idle();
    if (afterRound()) return;
    const due = core.store.runs.nextDueAt();
    if (due !== undefined) clock.set(due);
  }
}

/** The real core against the OVH simulator on one simulated clock, OVH limiting calls to `ratePerMinute`. */
export async function simulatedCore(ratePerMinute: number, maxActiveRuns: number) {
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock, rateLimit: { perMinute: ratePerMinute } });
  trustInProcess(sim.certPem);
  const env = testEnv(sim, {
    OVH_RATE_LIMIT_PER_MIN: String(ratePerMinute),
    DISCOVERY_TTL_MINUTES: '10',
    MAX_ACTIVE_RUNS_PER_USER: String(maxActiveRuns),
  });
  const core = buildCore(parseConfig(env), { clock, env, log: silentLogger, random: seeded(1), concurrency: 16 });
  return { clock, sim, core, ops: new Operations(core) };
}
