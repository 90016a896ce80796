import type { RunSummary } from '../domain/notices.ts';
import type { Run, RunState } from '../domain/runs.ts';
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
  };
}

export function show(domain: string): string {
  return showRun({ domain });
}

const PHRASES: Partial<Record<RunState, string>> = {
  discovering: 'looking up the Exchange service and the DNS zone',
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
