/** Run kinds and states, shared by the workflows, the store and the faces (Slack, CLI). */

export const RUN_KINDS = ['setup', 'vtex', 'batch', 'rotate', 'disable', 'scan', 'group', 'dmarc'] as const;
/** A run's kind, also the word a person types for it (`/dkim retry setup x.fr`). */
export type RunKind = (typeof RUN_KINDS)[number];

export function asRunKind(word: string): RunKind | undefined {
  return (RUN_KINDS as readonly string[]).includes(word) ? (word as RunKind) : undefined;
}

export const FINISHED_STATES = ['done', 'failed', 'cancelled', 'rejected', 'expired'] as const;
export type FinishedState = (typeof FINISHED_STATES)[number];

export type RunState =
  | 'discovering'
  /** Found on two services (a migration in progress): which one, the requester says. */
  | 'choosing'
  /** MX Plan: OVH's switch read, before the approval. */
  | 'checking'
  /** MX Plan: `PUT …/enable` sent (or to send), OVH working (`modifying`). */
  | 'switching_on'
  /** MX Plan: OVH could not write the records: the bot publishes them, or hands them over. */
  | 'adding_records'
  /** MX Plan: waiting for DNS to serve both records, then `PUT …/enable` again. */
  | 'checking_records'
  /** Rotate, disable: where the domain signs now; rotate: the spare made ready if it is not. */
  | 'preparing'
  /** Rotate: waiting for the spare's record in DNS and its key `ready`. */
  | 'spare_waiting'
  /** Rotate: enabling the spare. */
  | 'switching'
  /** Rotate: the old selector keeps its key until the grace period ends. */
  | 'grace'
  /** Rotate: the old selector disabled, then its key deleted, then a fresh one made, published and waited for. */
  | 'retiring'
  | 'deleting'
  | 'rekeying'
  | 'rekey_waiting'
  /** Disable: the offer's disable call, then waiting until OVH shows signing off. */
  | 'turning_off'
  /** DMARC: that the domain signs, then its SPF and DMARC records, read for the card. */
  | 'reading_records'
  /** DMARC: the approved SPF and DMARC records written in the OVH zone (or handed over). */
  | 'writing_records'
  /** Scan: checking the domains, a few at a time. */
  | 'scanning'
  /** A setup in a group: its key is ready; the group's one approval card covers it. */
  | 'awaiting_group'
  /** A group of setups: following its members, asking one approval for those ready. */
  | 'gathering'
  | 'requesting_keys'
  | 'creating_keys'
  | 'publishing'
  | 'waiting_ready'
  | 'verifying'
  | 'composing'
  | 'awaiting_approval'
  | 'approved'
  | 'sending'
  | 'enabling'
  | 'stalled'
  | 'needs_attention'
  | FinishedState;

export function isFinished(state: string): state is FinishedState {
  return (FINISHED_STATES as readonly string[]).includes(state);
}

export interface Run<P = Record<string, unknown>, F = Record<string, unknown>> {
  id: number;
  kind: RunKind;
  domain: string;
  state: RunState;
  params: P;
  facts: F;
  requestedBy: string;
  channelId: string | null;
  threadTs: string | null;
  nextCheckAt: number | null;
  deadlineAt: number | null;
  lastError: string | null;
  waitStreak: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded';

export interface Approval<S = Record<string, unknown>> {
  id: number;
  runId: number;
  action: string;
  snapshot: S;
  status: ApprovalStatus;
  requestedBy: string;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * The words for every state, in one table: its label (the parent message, status lines) and the phrase that finishes
 * "failed while …", "stalled while …".
 */
const STATE_WORDS: Record<RunState, readonly [label: string, phrase: string]> = {
  discovering: ['Looking up the mail service and the DNS zone', 'looking up the mail service and the DNS zone'],
  choosing: ['Waiting for a choice of service', 'waiting for a choice of service'],
  checking: ['Reading the DKIM switch at OVH', 'reading the DKIM switch at OVH'],
  switching_on: ['Turning signing on at OVH', 'turning signing on at OVH'],
  adding_records: ['Publishing the DNS records OVH asks for', 'publishing the DNS records OVH asks for'],
  checking_records: ['Waiting for DNS to serve the records', 'waiting for DNS to serve the records'],
  preparing: ['Checking how the domain signs now', 'checking how the domain signs now'],
  spare_waiting: ['Waiting for the spare key to be ready', 'waiting for the spare key to be ready'],
  switching: ['Switching signing to the spare', 'switching signing to the spare'],
  grace: ['Grace period: the old key stays', 'in the grace period'],
  retiring: ['Disabling the old selector', 'disabling the old selector'],
  deleting: ['Deleting the old key', 'deleting the old key'],
  rekeying: ['Making a fresh key for the old selector', 'making a fresh key for the old selector'],
  rekey_waiting: ['Waiting for the fresh key to be ready', 'waiting for the fresh key to be ready'],
  turning_off: ['Turning signing off at OVH', 'turning signing off'],
  reading_records: ['Reading the SPF and DMARC records', 'reading the SPF and DMARC records'],
  writing_records: ['Writing the SPF and DMARC records', 'writing the SPF and DMARC records'],
  scanning: ['Scanning the domains', 'scanning the domains'],
  awaiting_group: ["Ready: waiting for the group's approval", "waiting for the group's approval"],
  gathering: ['Following the setups of the group', 'following the setups of the group'],
  requesting_keys: ['Asking VTEX for the SES keys', 'asking VTEX for the keys'],
  creating_keys: ['Creating the DKIM keys', 'creating the DKIM keys'],
  publishing: ['Publishing the DNS records', 'publishing the DNS records'],
  waiting_ready: ['Waiting for OVH to see the records', 'waiting for the keys to be ready'],
  verifying: ['Checking the records in DNS', 'checking the records in DNS'],
  composing: ['Composing the order', 'composing the order'],
  awaiting_approval: ['Waiting for approval', 'waiting for approval'],
  approved: ['Approved, about to send', 'about to send the order'],
  sending: ['Sending the order', 'sending the order'],
  enabling: ['Enabling DKIM', 'enabling DKIM'],
  stalled: ['Stalled', 'stalled'],
  needs_attention: ['Needs attention', 'needs attention'],
  done: ['Done', 'done'],
  failed: ['Failed', 'failed'],
  cancelled: ['Cancelled', 'cancelled'],
  rejected: ['Rejected', 'rejected'],
  expired: ["Expired: the group's card was not approved in time", 'expired'],
};

/** "Waiting for approval". */
export function stateLabel(state: RunState): string {
  return STATE_WORDS[state][0];
}

/** "waiting for approval", to finish a sentence. */
export function describeState(state: RunState): string {
  return STATE_WORDS[state][1];
}
