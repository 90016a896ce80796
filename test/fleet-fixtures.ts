import assert from 'node:assert/strict';
import type { Notice } from '../src/domain/notices.ts';
import type { Run } from '../src/domain/runs.ts';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, isState, REQUESTER } from './harness.ts';
import type { OvhSim } from './sim/ovh.ts';

/** Accounts for the fleet scan: a mixed one whose every domain says something different, and big ones. */

/** Every selector of an Exchange or Email Pro domain gets its CNAME in the domain's OVH zone, pointing where OVH says. */
export function publishKeys(sim: OvhSim, domain: string, selectors: string[], target?: string): void {
  for (const s of selectors) {
    sim.addZoneRecord(domain, {
      fieldType: 'CNAME',
      subDomain: `${s}._domainkey`,
      target: target ?? `${sim.selector(domain, s)!.targetRecord}.`,
      ttl: 60,
    });
  }
}

/**
 * Exchange, Email Pro and MX Plan; zones at OVH and elsewhere; SPF and DMARC present, absent and wrong. Returns what
 * the scan must find for each domain.
 */
export function mixedAccount(sim: OvhSim) {
  // Signing with selector 1, the spare ready, both records right; SPF and DMARC as OVH recommends.
  const signing = sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'signing.fr', zone: true });
  sim.setSelectorStatus('signing.fr', signing.selectors[0], 'inProduction');
  sim.setSelectorStatus('signing.fr', signing.selectors[1], 'ready');
  publishKeys(sim, 'signing.fr', signing.selectors);
  sim.addMailAuthRecords('signing.fr');

  // A key ready but not signing; SPF without mx.ovh.com; DMARC monitoring only.
  const ready = sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'ready.fr', zone: true });
  sim.setSelectorStatus('ready.fr', ready.selectors[0], 'ready');
  publishKeys(sim, 'ready.fr', [ready.selectors[0]]);
  sim.addMailAuthRecords('ready.fr', { spf: 'v=spf1 include:_spf.google.com ~all', dmarc: 'v=DMARC1; p=none' });

  // Keys waiting for their record at a DNS host elsewhere.
  const waiting = sim.addExchangeDomain({ org: 'org1', service: 'svc2', domain: 'waiting.fr' });
  sim.setSelectorStatus('waiting.fr', waiting.selectors[0], 'waitingRecord');
  sim.addMailAuthRecords('waiting.fr');

  // Email Pro, DNS elsewhere, nothing at all: no DKIM, no SPF, no DMARC.
  sim.addEmailProDomain({ service: 'emailpro-ab1-1', domain: 'fresh.fr' });
  sim.addMailAuthRecords('fresh.fr', { spf: null, dmarc: null });

  // Email Pro signing, but its record points elsewhere; two SPF records; a DMARC record with no policy.
  const broken = sim.addEmailProDomain({ service: 'emailpro-ab1-1', domain: 'broken.fr', zone: true });
  sim.setSelectorStatus('broken.fr', broken.selectors[0], 'inProduction');
  publishKeys(sim, 'broken.fr', [broken.selectors[0]], 'somewhere.else.example.');
  sim.addZoneRecord('broken.fr', { fieldType: 'TXT', target: '"v=spf1 include:mx.ovh.com ~all"' });
  sim.addZoneRecord('broken.fr', { fieldType: 'TXT', target: '"v=spf1 a mx -all"' });
  sim.addZoneRecord('broken.fr', {
    fieldType: 'TXT',
    subDomain: '_dmarc',
    target: '"v=DMARC1; rua=mailto:d@broken.fr"',
  });

  // MX Plan: one off, one on (OVH wrote its records in its zone).
  sim.addMxPlanDomain({ domain: 'mxoff.fr', zone: true });
  sim.addMailAuthRecords('mxoff.fr', { dmarc: 'v=DMARC1; p=reject' });
  sim.addMxPlanDomain({ domain: 'mxon.fr', zone: true, status: 'enabled' });
  sim.addMailAuthRecords('mxon.fr');

  return {
    signing: { selectors: signing.selectors },
    ready: { selectors: ready.selectors },
    waiting: { selectors: waiting.selectors },
    broken: { selectors: broken.selectors },
    /** The OVH reads a scan of this account needs: discovery, then the dkim list and one read per key. */
    floor: {
      discovery: 8,
      perDomain: {
        'signing.fr': 3,
        'ready.fr': 2,
        'waiting.fr': 2,
        'fresh.fr': 1,
        'broken.fr': 2,
        'mxoff.fr': 1,
        'mxon.fr': 1,
      },
    },
  };
}

/**
 * `count` domains spread over two Exchange services, one Email Pro service and MX Plan, a third signing, a third
 * with keys ready, a third with nothing; records and SPF/DMARC at OVH. `prefix` names them.
 */
export function bigAccount(sim: OvhSim, count: number, prefix = 'd') {
  const domains: string[] = [];
  let keys = 0;
  for (let i = 0; i < count; i++) {
    const domain = `${prefix}${String(i).padStart(4, '0')}.fr`;
    domains.push(domain);
    const kind = i % 4;
    if (kind === 3) {
      sim.addMxPlanDomain({ domain, zone: true, status: i % 8 === 3 ? 'enabled' : 'disabled' });
    } else {
      const info =
        kind === 2
          ? sim.addEmailProDomain({ service: 'emailpro-big-1', domain, zone: true })
          : sim.addExchangeDomain({ org: 'org1', service: `svc${kind + 1}`, domain, zone: true });
      const state = i % 3;
      if (state === 0) {
        sim.setSelectorStatus(domain, info.selectors[0], 'inProduction');
        sim.setSelectorStatus(domain, info.selectors[1], 'ready');
        publishKeys(sim, domain, info.selectors);
        keys += 2;
      } else if (state === 1) {
        sim.setSelectorStatus(domain, info.selectors[0], 'ready');
        publishKeys(sim, domain, [info.selectors[0]]);
        keys += 1;
      }
    }
    sim.addMailAuthRecords(domain, i % 5 === 0 ? { dmarc: null } : {});
  }
  const keyed = domains.filter((_, i) => i % 4 !== 3).length;
  /** Discovery: /email/exchange, its service list, two services' domains; /email/pro and its one service; MX Plan; zones. */
  const discoveryCalls = 8;
  return { domains, discoveryCalls, floorCalls: discoveryCalls + keyed + keys + (count - keyed) };
}

/** A scan of the simulated account, driven to its end. */
export async function scanned(h: Harness): Promise<Run> {
  const started = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
  const run = await h.drive(isState('done', 'failed'), started.run!.id);
  assert.equal(run.state, 'done', run.lastError ?? '');
  return run;
}

export async function setupAll(h: Harness, scan: Run) {
  const reply = await h.ops.fleet.setupAll(scan.id, REQUESTER, 'C1');
  assert.ok(reply.ok, plainText(reply.text));
  const group = reply.run!;
  const members = (group.params.members as number[]).map((id) => h.core.store.runs.get(id)!);
  return { reply, group, members };
}

export const byDomain = (h: Harness, members: Run[]) =>
  new Map(members.map((m) => [m.domain, h.core.store.runs.get(m.id)!] as const));

export const groupSaid = (h: Harness, groupId: number): Notice[] =>
  h.core.store.outbox.forRun(groupId).map((m) => m.notice);

export const cards = (h: Harness, groupId: number) =>
  groupSaid(h, groupId).filter((n) => n.type === 'approval_request');

export async function approveLatest(h: Harness, runId: number) {
  const approval = h.core.store.approvals.latestForRun(runId)!;
  const decided = await h.ops.decide(approval.id, APPROVER, 'approved');
  assert.ok(decided.ok, plainText(decided.text));
}
