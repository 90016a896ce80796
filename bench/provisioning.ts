import { FakeClock } from '../src/clock.ts';
import { parseConfig } from '../src/config.ts';
import { buildCore } from '../src/core.ts';
import { isFinished } from '../src/domain/runs.ts';
import { silentLogger } from '../src/log.ts';
import { Operations } from '../src/operations.ts';
import { maxInWindow } from '../test/fixtures.ts';
import { APPROVER, REQUESTER, seeded, testEnv } from '../test/harness.ts';
import { OvhSim } from '../test/sim/ovh.ts';
import { trustInProcess } from '../test/sim/tls.ts';

/**
 * The fewest OVH calls one `/dkim setup` needs when OVH answers at once: locate (organizations, services, domains),
 * zones, selectors, existing keys, 2 key creations, 2 key reads, 2 record look-ups, 2 record creations, 1 refresh,
 * 1 status read (ready), 1 re-check at approval, 1 enable, 1 status read (inProduction).
 */
export const MIN_CALLS_PER_DOMAIN = 3 + 1 + 1 + 1 + 2 + 2 + 2 + 2 + 1 + 1 + 1 + 1 + 1;

export interface ProvisioningFigures {
  domains: number;
  ratePerMinute: number;
  callsPerDomain: number;
  minCallsPerDomain: number;
  simulatedMinutes: number;
  lowerBoundMinutes: number;
  rateLimited429s: number;
  maxInAnyWindow: number;
  done: number;
  wallSeconds: number;
}

/** 1,000 domains set up at once against the OVH simulator at 60 requests/minute, on a simulated clock. */
export async function benchProvisioning(domains = 1000, ratePerMinute = 60): Promise<ProvisioningFigures> {
  const started = performance.now();
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock, rateLimit: { perMinute: ratePerMinute } });
  trustInProcess(sim.certPem);
  const env = testEnv(sim, { OVH_RATE_LIMIT_PER_MIN: String(ratePerMinute) });
  const core = buildCore(parseConfig(env), { clock, env, log: silentLogger, random: seeded(1), concurrency: 16 });
  const ops = new Operations(core);
  const names = Array.from({ length: domains }, (_, i) => `bench-${String(i).padStart(4, '0')}.fr`);
  for (const domain of names) sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
  const t0 = clock.now();
  const runIds = names.map((domain) => ops.setup({ domain, user: REQUESTER, channel: 'C1' }).run!.id);
  for (let round = 0; round < 100_000; round++) {
    await core.engine.tick();
    await core.engine.idle();
    for (const approval of core.store.db.prepare(`SELECT id FROM approvals WHERE status = 'pending'`).all() as {
      id: number;
    }[]) {
      await ops.decide(approval.id, APPROVER, 'approved');
    }
    await core.engine.idle();
    if (runIds.every((id) => isFinished(core.store.runs.get(id)!.state))) break;
    const due = core.store.runs.nextDueAt();
    if (due !== undefined) clock.set(due);
  }
  const finished = runIds.filter((id) => core.store.runs.get(id)!.state === 'done').length;
  const calls = sim.requests.filter((r) => r.path !== '/auth/time');
  const figures: ProvisioningFigures = {
    domains,
    ratePerMinute,
    callsPerDomain: calls.length / domains,
    minCallsPerDomain: MIN_CALLS_PER_DOMAIN,
    simulatedMinutes: (clock.now() - t0) / 60_000,
    lowerBoundMinutes: (MIN_CALLS_PER_DOMAIN * domains) / ratePerMinute,
    rateLimited429s: sim.rateLimited429s,
    maxInAnyWindow: maxInWindow(calls.map((r) => r.at)),
    done: finished,
    wallSeconds: (performance.now() - started) / 1000,
  };
  core.store.close();
  await sim.close();
  return figures;
}
