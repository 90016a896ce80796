/**
 * What a workflow says, as structured data. Workflows write notices to the outbox; the Slack notifier renders and
 * delivers them, the CLI prints them. Texts use Slack's mrkdwn subset (*bold*, `code`), which reads fine as plain text.
 */

import type { RunKind } from './runs.ts';
import type { ScanSummary } from './scan.ts';

export interface DnsRecordToAdd {
  /** Absolute owner name, e.g. "sel._domainkey.example.fr." */
  name: string;
  /** Name relative to the zone, for web forms, e.g. "sel._domainkey". */
  relative: string;
  type: 'CNAME';
  /** Absolute target, ending with a dot. */
  target: string;
  ttl: number;
}

export interface RunSummary {
  runId: number;
  kind: RunKind;
  domain: string;
  state: string;
  requestedBy: string;
  nextCheckAt: number | null;
  lastError: string | null;
  detail?: string;
  /** Where the run acts, once known: the offer and its service (a setup), e.g. "Email Pro service `emailpro-…`". */
  where?: string;
  /** The offer's name, for the run's title ("Email Pro"). */
  offer?: string;
  /** A finished scan: its counts and the domains that need a setup. */
  scan?: ScanSummary;
}

export type Notice =
  /** The run's parent message: posted once, the thread root. */
  | { type: 'parent'; summary: RunSummary }
  /** The parent message edited in place. */
  | { type: 'parent_update'; summary: RunSummary }
  /** A threaded reply. `mention` asks for the requester to be mentioned (a new message notifies; an edit does not). */
  | { type: 'reply'; text: string; mention?: boolean; level?: 'info' | 'success' | 'warning' | 'error' }
  | { type: 'records'; text: string; records: DnsRecordToAdd[] }
  | {
      type: 'approval_request';
      approvalId: number;
      title: string;
      lines: string[];
      approvers: string[];
      expiresAt: number;
      /** Optional preformatted block shown with the card (e.g. a batch-order preview). */
      preview?: string;
    }
  /** A question with one button per answer (which service, …); the requester or an approver answers. */
  | {
      type: 'choice';
      key: string;
      title: string;
      lines: string[];
      options: { label: string; value: string }[];
      mention?: boolean;
    }
  /** A file in the thread (a scan's CSV), made from the run's records when it is delivered. */
  | { type: 'file'; filename: string; title: string; comment: string }
  /** The question answered: its card shows the answer instead of the buttons. */
  | { type: 'choice_made'; key: string; chosen: string; by: string; at: number }
  | {
      type: 'approval_decided';
      approvalId: number;
      decision: 'approved' | 'rejected' | 'expired';
      by?: string;
      at: number;
    };

/** Zone-file line: both names absolute. */
export function zoneFileLine(record: DnsRecordToAdd): string {
  return `${record.name} ${record.ttl} IN ${record.type} ${record.target}`;
}
