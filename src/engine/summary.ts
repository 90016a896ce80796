import { showRun } from '../domain/names.ts';
import type { RunSummary } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import type { ScanSummary } from '../domain/scan.ts';
import type { Text } from '../domain/text.ts';
import { describeService, OFFER_LABELS, type OfferId } from '../providers/ovh-mail.ts';

/** How a run is described to people: the summary on its parent message and the words for its states. */

export function summarize(run: Run): RunSummary {
  const observed = run.facts.lastObservation;
  const detail = typeof observed === 'string' || Array.isArray(observed) ? (observed as Text) : undefined;
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
