/**
 * What a workflow says, as structured data. Workflows write notices to the outbox; the Slack notifier renders and
 * delivers them, the CLI prints them. Texts are words (with the bot's *bold* and `code`, which read fine as plain
 * text) and tokens for people and dates (domain/text.ts): no face ever reads the words as markup.
 */

import type { RunKind } from './runs.ts';
import type { ScanSummary } from './scan.ts';
import type { Text } from './text.ts';
import { quotedTxt } from './txt.ts';

export interface DnsRecordToAdd {
  /** Absolute owner name, e.g. "sel._domainkey.example.fr." */
  name: string;
  /** Name relative to the zone, for web forms, e.g. "sel._domainkey". */
  relative: string;
  type: 'CNAME' | 'TXT';
  /** CNAME: the absolute target, ending with a dot. TXT: the text, unquoted. */
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
  detail?: Text;
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
  | {
      type: 'reply';
      text: Text;
      mention?: boolean;
      level?: 'info' | 'success' | 'warning' | 'error';
      /**
       * The step this reply is about (`disable:<selector>`): a later reply with the same key edits the same message
       * (a request and its confirmation are one message), unless it mentions the requester, which needs a new one.
       */
      key?: string;
    }
  | { type: 'records'; text: Text; records: DnsRecordToAdd[] }
  | {
      type: 'approval_request';
      approvalId: number;
      /** What will happen, to which domain: the card's first line (the renderer adds for whom). */
      title: Text;
      /** The details, read second: selector, record, the exact calls. */
      lines: Text[];
      approvers: string[];
      /** Whether the requester may approve too (else the card does not name them among who may). */
      selfApproval: boolean;
      expiresAt: number;
      /** Optional preformatted block shown with the card (e.g. a batch-order preview). */
      preview?: string;
    }
  /** A question with one button per answer (which service, …); the requester or an approver answers. */
  | {
      type: 'choice';
      key: string;
      title: Text;
      lines: Text[];
      options: { label: string; value: string }[];
      mention?: boolean;
    }
  /** A file in the thread (a scan's CSV), made from the run's records when it is delivered. */
  /** A file in the thread: `content` as given (a card's full list), or else a scan's CSV made from its records. */
  | { type: 'file'; filename: string; title: string; comment: Text; content?: string }
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
  const value = record.type === 'TXT' ? quotedTxt(record.target) : record.target;
  return `${record.name} ${record.ttl} IN ${record.type} ${value}`;
}
