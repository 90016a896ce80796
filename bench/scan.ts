import { isFinished } from '../src/domain/runs.ts';
import { maxInWindow } from '../test/fixtures.ts';
import { bigAccount } from '../test/fleet-fixtures.ts';
import { REQUESTER } from '../test/harness.ts';
import { driveApproving, simulatedCore } from './drive.ts';

export interface ScanFigures {
  domains: number;
  ratePerMinute: number;
  /** The scan's own OVH calls (its audit trail), and the fewest it needs: discovery + the dkim list and one read per key. */
  scanCalls: number;
  floorCalls: number;
  scanMinutes: number;
  /** Setup runs going on at the same time, their calls, and whether they finished. */
  setups: number;
  setupCalls: number;
  setupsDone: number;
  /** Every OVH call (scan and setups) made until the scan was done: with setups, the budget the scan shared. */
  callsUntilScanDone: number;
  rateLimited429s: number;
  maxInAnyWindow: number;
  wallSeconds: number;
}

/**
 * A scan of `domains` domains (Exchange, Email Pro, MX Plan; a third signing, a third ready, a third with nothing) at
 * `ratePerMinute`, on a simulated clock; with `setups` setup runs started at the same moment, on the same rate limit.
 */
export async function benchScan(domains = 1000, ratePerMinute = 60, setups = 0): Promise<ScanFigures> {
  const started = performance.now();
  const { clock, sim, core, ops } = await simulatedCore(ratePerMinute, setups + 10);
  const account = bigAccount(sim, domains);
  const extra = Array.from({ length: setups }, (_, i) => `setup-${String(i).padStart(3, '0')}.fr`);
  for (const domain of extra) sim.addExchangeDomain({ org: 'org2', service: 'svc9', domain, zone: true });
  const t0 = clock.now();
  const scan = (await ops.fleet.scan({ user: REQUESTER, channel: 'C1' })).run!;
  const setupIds: number[] = [];
  for (const domain of extra) setupIds.push((await ops.setup({ domain, user: REQUESTER, channel: 'C1' })).run!.id);
  let scanDoneAt: number | undefined;
  await driveApproving(core, ops, clock, () => {
    if (scanDoneAt === undefined && isFinished(core.store.runs.get(scan.id)!.state)) scanDoneAt = clock.now();
    return scanDoneAt !== undefined && setupIds.every((id) => isFinished(core.store.runs.get(id)!.state));
  });
  const callsOf = (runId: number) =>
    (
      core.store.db.prepare(`SELECT COUNT(*) AS n FROM events WHERE run_id = ? AND type = 'ovh_call'`).get(runId) as {
        n: number;
      }
    ).n;
  // The floor of what the scan saw: each discovery list once (the extra setups' organization adds two), then per
  // domain the dkim list and one read per key it found (MX Plan: one read).
  const discovery = account.discoveryCalls + (setups > 0 ? 2 : 0);
  const perDomain = core.store.scans
    .results(scan.id)
    .reduce((sum, r) => sum + (r.service === 'mxplan' ? 1 : 1 + r.selectors.length), 0);
  const floorCalls = discovery + perDomain;
  const calls = sim.requests.filter((r) => r.path !== '/auth/time');
  const figures: ScanFigures = {
    domains: domains + setups,
    ratePerMinute,
    scanCalls: callsOf(scan.id),
    floorCalls,
    scanMinutes: ((scanDoneAt ?? clock.now()) - t0) / 60_000,
    setups,
    setupCalls: setupIds.reduce((sum, id) => sum + callsOf(id), 0),
    setupsDone: setupIds.filter((id) => core.store.runs.get(id)!.state === 'done').length,
    callsUntilScanDone: calls.filter((r) => r.at <= (scanDoneAt ?? clock.now())).length,
    rateLimited429s: sim.rateLimited429s,
    maxInAnyWindow: maxInWindow(calls.map((r) => r.at)),
    wallSeconds: (performance.now() - started) / 1000,
  };
  core.close();
  await sim.close();
  return figures;
}
