import { isFinished } from '../src/domain/runs.ts';
import { maxInWindow } from '../test/fixtures.ts';
import { REQUESTER } from '../test/harness.ts';
import { driveApproving, simulatedCore } from './drive.ts';

export type BenchOffer = 'exchange' | 'pro' | 'mxplan';

/**
 * The floors (DESIGN §7, docs/ARCHITECTURE.md): the fewest OVH calls one `/dkim setup` needs when OVH answers at once,
 * plus discovery once for the whole batch (DISCOVERY_TTL_MINUTES; the bench counts it once, the strictest reading).
 * - Exchange and Email Pro: `dkimSelector`, the `dkim` list, 2 key creations, 2 key reads, 2 record look-ups,
 *   2 record creations, 1 refresh, 1 status read at `ready`, 1 re-check at approval, 1 enable, 1 read of
 *   `inProduction` = 15. Discovery looks at every offer: Exchange (organizations, services, domains: 3 with one of
 *   each), Email Pro (services, and each one's domains), MX Plan (1), and the zones (1).
 * - MX Plan: the switch read before the card, 1 re-check at approval, 1 `PUT …/enable`, 1 read of `enabled` = 4.
 */
export const FLOORS: Record<BenchOffer, { perDomain: number; discovery: number }> = {
  exchange: { perDomain: 15, discovery: 3 + 1 + 1 + 1 },
  pro: { perDomain: 15, discovery: 1 + 2 + 1 + 1 },
  mxplan: { perDomain: 4, discovery: 1 + 1 + 1 + 1 },
};
const DISCOVERY_PATHS =
  /^\/email\/exchange(\/[^/]+\/service(\/[^/]+\/domain)?)?$|^\/email\/pro(\/[^/]+\/domain)?$|^\/email\/domain$|^\/domain\/zone$/;

export interface ProvisioningFigures {
  offer: BenchOffer;
  domains: number;
  ratePerMinute: number;
  callsPerDomain: number;
  floorCallsPerDomain: number;
  discoveryCalls: number;
  /** Calls of the whole batch against the floor: its calls per domain + discovery once (the strictest reading). */
  totalCalls: number;
  floorTotalCalls: number;
  simulatedMinutes: number;
  floorMinutes: number;
  rateLimited429s: number;
  maxInAnyWindow: number;
  done: number;
  wallSeconds: number;
}

/** `domains` domains of one service of `offer` set up at once at `ratePerMinute`, on a simulated clock. */
export async function benchProvisioning(
  domains = 1000,
  ratePerMinute = 60,
  offer: BenchOffer = 'exchange',
): Promise<ProvisioningFigures> {
  const started = performance.now();
  // One requester for the whole batch, as an operator setting up a fleet would be.
  const { clock, sim, core, ops } = await simulatedCore(ratePerMinute, domains);
  const names = Array.from({ length: domains }, (_, i) => `bench-${String(i).padStart(4, '0')}.fr`);
  for (const domain of names) {
    if (offer === 'exchange') sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    else if (offer === 'pro') sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain, zone: true });
    else sim.addMxPlanDomain({ domain, zone: true });
  }
  const t0 = clock.now();
  // Asked for at once, as a burst of commands arrives: the starts share their commits, the runs step after them (one
  // after the other, each start would let the runs already started read OVH's lists before the next was asked for,
  // and a list read before a run was requested is read again for it).
  const replies = await Promise.all(names.map((domain) => ops.setup({ domain, user: REQUESTER, channel: 'C1' })));
  const runIds = replies.map((reply) => reply.run!.id);
  await driveApproving(core, ops, clock, () => runIds.every((id) => isFinished(core.store.runs.get(id)!.state)));
  const finished = runIds.filter((id) => core.store.runs.get(id)!.state === 'done').length;
  const calls = sim.requests.filter((r) => r.path !== '/auth/time');
  const simulatedMinutes = (clock.now() - t0) / 60_000;
  const floor = FLOORS[offer];
  const floorTotalCalls = floor.perDomain * domains + floor.discovery;
  const figures: ProvisioningFigures = {
    offer,
    domains,
    ratePerMinute,
    callsPerDomain: calls.length / domains,
    floorCallsPerDomain: floor.perDomain,
    discoveryCalls: calls.filter((r) => r.method === 'GET' && DISCOVERY_PATHS.test(r.path)).length,
    totalCalls: calls.length,
    floorTotalCalls,
    simulatedMinutes,
    floorMinutes: floorTotalCalls / ratePerMinute,
    rateLimited429s: sim.rateLimited429s,
    maxInAnyWindow: maxInWindow(calls.map((r) => r.at)),
    done: finished,
    wallSeconds: (performance.now() - started) / 1000,
  };
  core.close();
  await sim.close();
  return figures;
}
