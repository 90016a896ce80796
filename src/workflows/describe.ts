import type { RunSummary } from '../domain/notices.ts';
import type { Run, RunState } from '../domain/runs.ts';
import type { ScanSummary } from '../domain/scan.ts';
import { describeService, OFFER_LABELS, type OfferId } from '../providers/ovh-mail.ts';
import { showRun } from './outcomes.ts';

/** How a run is described to people: the summary on its parent message and the words for its states. */

export function summarize(run: Run): RunSummary {
  const detail = typeof run.facts.lastObservation === 'string' ? run.facts.lastObservation : undefined;
  return {
    runId: run.id,
    kind: run.kind,
    domain: showRun(run),
    state: run.state,
    requestedBy: run.requestedBy,
    nextCheckAt: run.nextCheckAt,
    lastError: run.lastError,
    ...(detail ? { detail } : {}),
    ...placeOf(run),
    ...(run.kind === 'scan' && run.facts.summary ? { scan: run.facts.summary as ScanSummary } : {}),
  };
}

/** The offer and service of a run that acts on an OVH mail service, once known. */
export function placeOf(run: Run): { where?: string; offer?: string } {
  const facts = run.facts as { offer?: OfferId; org?: string; service?: string };
  const offer = facts.offer ?? (facts.org ? 'exchange' : undefined);
  if (!offer) return {};
  return { where: describeService({ offer, org: facts.org, service: facts.service }), offer: OFFER_LABELS[offer] };
}

export function show(domain: string): string {
  return showRun({ domain });
}

const PHRASES: Partial<Record<RunState, string>> = {
  discovering: 'looking up the mail service and the DNS zone',
  choosing: 'waiting for a choice of service',
  checking: 'reading the DKIM switch at OVH',
  switching_on: 'turning signing on at OVH',
  adding_records: 'publishing the DNS records OVH asks for',
  checking_records: 'waiting for DNS to serve the records',
  preparing: 'checking how the domain signs now',
  spare_waiting: 'waiting for the spare key to be ready',
  switching: 'switching signing to the spare',
  grace: 'in the grace period',
  retiring: 'disabling the old selector',
  deleting: 'deleting the old key',
  rekeying: 'making a fresh key for the old selector',
  rekey_waiting: 'waiting for the fresh key to be ready',
  turning_off: 'turning signing off',
  scanning: 'scanning the domains',
  awaiting_group: "waiting for the group's approval",
  gathering: 'following the setups of the group',
  requesting_keys: 'asking VTEX for the keys',
  creating_keys: 'creating the DKIM keys',
  publishing: 'publishing the DNS records',
  waiting_ready: 'waiting for the keys to be ready',
  verifying: 'checking the records in DNS',
  composing: 'composing the order',
  awaiting_approval: 'waiting for approval',
  approved: 'about to send the order',
  sending: 'sending the order',
  enabling: 'enabling DKIM',
};

export function describeState(state: RunState): string {
  return PHRASES[state] ?? state.replace(/_/g, ' ');
}

/** A moment, for a message: minutes, UTC. */
export function atTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
