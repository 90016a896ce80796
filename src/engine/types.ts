import type { DnsRecordToAdd, Notice } from '../domain/notices.ts';
import type { Approval, Run, RunKind, RunState } from '../domain/runs.ts';
import type { ScanResult } from '../domain/scan.ts';
import type { Text } from '../domain/text.ts';
import type { DnsChecker } from '../providers/dns.ts';
import type { Mailer } from '../providers/mail.ts';
import type { OvhApi } from '../providers/ovh.ts';
import type { SharedReads } from '../providers/shared-reads.ts';
import type { VtexApi } from '../providers/vtex.ts';
import type { WrittenRecords } from '../store/dmarc-domains.ts';
import type { PendingScan, ScanEntry } from '../store/scans.ts';
import type { NewWatch } from '../store/watches.ts';

/** What a step may use of the world. A provider is undefined when its feature is not configured. */
export interface StepContext {
  now: number;
  /** The engine's wait bounds: one poller tick, and RECHECK_MAX_SECONDS. */
  timing: { firstRecheckMs: number; recheckMaxMs: number };
  ovh?: OvhApi;
  /** Discovery answers (services, their domains, zones) shared by every run for DISCOVERY_TTL_MINUTES. */
  shared?: SharedReads;
  vtex?: VtexApi;
  mail?: Mailer;
  /** Batch-mail settings; the passphrase is used to sign and never stored. */
  batch?: { account: string; passphrase: string; live: boolean; autopayment: boolean; from: string };
  dns: DnsChecker;
  /** ROTATION_GRACE_HOURS: how long the old selector keeps its key once a rotation switched. */
  rotationGraceMs?: number;
  /**
   * Persists a state (and facts) now, in the middle of the step, before an action that must happen at most once:
   * a run found in that state later knows the action may have happened. Throws if the run moved meanwhile.
   */
  checkpoint: (state: RunState, facts: Record<string, unknown>) => void;
  /** What a step may read of the bot's own records: other runs (a group's members), approvals, a scan's domains. */
  view: StoreView;
  /** OVH_RATE_LIMIT_PER_MIN, the pace of every OVH call: a long run says how long it still needs. */
  ovhRatePerMinute?: number;
  /** DMARC_RUA: where receivers send aggregate reports (a dmarc run writes it into the DMARC record). */
  dmarcRua?: string;
}

/** Reads only: a step writes through its outcome, in the engine's transaction. */
export interface StoreView {
  run(id: number): Run | undefined;
  approval(id: number): Approval | undefined;
  /** A run's approvals, oldest first. */
  approvals(runId: number): Approval[];
  scanPending(runId: number, limit: number): PendingScan[];
  scanResults(runId: number): ScanResult[];
}

/** When to look at the run again. */
export type Next =
  /** Right away, in the same pass: the step did one thing and the next one is ready. */
  | 'now'
  /** Not yet: look again with backoff (one poller tick, doubling, up to RECHECK_MAX_SECONDS). */
  | 'wait'
  /** Only when someone acts (an approval, a retry). */
  | 'none';

export interface ApprovalRequest {
  action: string;
  snapshot: Record<string, unknown>;
  /** What will happen, to which domain. */
  title: Text;
  /** The details: selector, record, the exact calls. */
  lines: Text[];
  preview?: string;
  /** A file posted after the card (the whole list of what it approves, when the card cannot hold it). */
  file?: { filename: string; title: string; comment: Text; content: string };
}

export interface StepOutcome {
  state: RunState;
  facts: Record<string, unknown>;
  next: Next;
  notices?: Notice[];
  /** Audit events besides the outside calls, which the engine records itself. */
  events?: { type: string; detail: Record<string, unknown> }[];
  /** What went wrong, shown on the parent message; cleared when omitted. */
  lastError?: string | null;
  approval?: ApprovalRequest;
  /** Close the run's pending approval as expired, in the same transaction. */
  expirePending?: boolean;
  /** Runs that end with this outcome, in the same transaction (a group's members whose card expired). */
  end?: { runs: number[]; as: 'expired' };
  /** Private data no longer needed (an order once sent): the run's params replaced, its cards' previews dropped. */
  scrub?: { params: Record<string, unknown> };
  /** Look again exactly then (a grace period), rather than with backoff. */
  wakeAt?: number;
  /** The domain is watched from now on with this key (a setup or a rotation finished), or no longer (`null`). */
  watch?: Omit<NewWatch, 'runId' | 'domain'> | null;
  /** SPF and DMARC as DNS serves them now (a dmarc run finished): the journey and the watch go on from them. */
  dmarc?: Omit<WrittenRecords, 'domain' | 'runId' | 'requestedBy' | 'channelId'>;
  /** The parent message shows new progress (its detail), though the state did not change. */
  progress?: boolean;
  /** A scan's domains: found (to check), or checked (their results), written with the outcome. */
  scan?: { found?: ScanEntry[]; checked?: { position: number; result: ScanResult }[] };
  /** A new wait begins (an approval came through the run's group): WAIT_DEADLINE_HOURS counts from now. */
  freshDeadline?: boolean;
}

export interface Workflow {
  kind: RunKind;
  firstState: RunState;
  /** Its steps are long (a scan): the poller starts it in the background instead of waiting for it. */
  background?: boolean;
  /** States in which the run waits on the outside world; the deadline turns them into `stalled`. */
  waitingStates: readonly RunState[];
  /** The state to go back to when a fresh approval card is wanted (it may depend on the run, e.g. its offer). */
  beforeApproval(run: Run): RunState;
  /** Where an approval leads. */
  afterApproval(run: Run): RunState;
  /** States only an approval leads to: a retry found in them goes back to `beforeApproval`, for a fresh approval. */
  approvedStates: readonly RunState[];
  /**
   * The approved change is made and what follows is the rest of the approved plan (a rotation once its spare signs):
   * a retry resumes where the run was, whose steps read before they act, instead of asking again for what is done.
   */
  pastApproval?(run: Run): boolean;
  /** Why the run may not be cancelled now, if it may not (an order being sent). */
  cancelRefusal?(run: Run): string | undefined;
  /** Why the run may not be retried, if it may not (an order whose transfer code was dropped). */
  retryRefusal?(run: Run): string | undefined;
  /** What a cancel leaves as it is, said in the thread (a rotation in its grace period: the spare keeps signing). */
  cancelNote?(run: Run): string | undefined;
  /** Runs that follow this one's decisions (a group's members): woken when it is decided on or cancelled. */
  followers?(run: Run): number[];
  /**
   * Runs that end with this one when it is cancelled or rejected (a group's members; on a rejection, those no card
   * of it approved).
   */
  endsWith?(run: Run, how: Ending, view: StoreView, now: number): number[];
  /** Where the run goes when its card expired (a group gathers on); it stays waiting for `/dkim retry` otherwise. */
  afterExpiry?(run: Run): RunState;
  /** What is said when its card expired, naming the runs that ended with it. */
  expiryNote?(run: Run, ended: Run[]): string;
  /** The params as the audit trail keeps them (private fields hidden); as they are when absent. */
  auditParams?(params: Record<string, unknown>): Record<string, unknown>;
  /** Observe, do at most one side effect, say what is true now and when to look again. */
  step(run: Run, ctx: StepContext): Promise<StepOutcome>;
  /** Facts for a fresh look before a new approval card (e.g. forget when OVH was last asked). */
  freshLook?(facts: Record<string, unknown>): Record<string, unknown>;
  /** An answer to a question the run asked (a `choice` notice): where it goes on, or why the answer is refused. */
  answer?(
    run: Run,
    key: string,
    value: string,
  ): { state: RunState; facts: Record<string, unknown> } | { refusal: string };
  /** Looked at when Approve is clicked: a reason to refuse, or undefined when the card still holds. */
  recheckApproval(run: Run, approval: Approval, ctx: StepContext): Promise<string | undefined>;
}

export type { DnsRecordToAdd };

/** How a run ends before its work is done, by a person's decision or a card's expiry. */
export type Ending = 'cancelled' | 'rejected' | 'expired';
