import { type Approval, isFinished, type Run } from '../../domain/runs.ts';
import { type CallFacts, callRecord } from '../once.ts';
import type { StoreView } from '../types.ts';

/**
 * What an approval lets a run do (DESIGN §5.1): exactly what its card showed, for that run, once, before the card
 * expires. The decision writes the run's grant; the run's approved steps act only while `grantHolds`. A retry that
 * goes back before the approval drops the grant, so nothing but a fresh card can give it back.
 *
 * A group's card (Set up all) lists several runs, each with what it shows of it (`CardEntry`). A member takes its
 * share of an approved card that lists its current ask; that share holds only while the group is active and the card
 * valid (not expired), and only for that ask: a key made again, or a member retried, asks anew.
 */

/** What the run acts under: which approval, who gave it and when, and what the card showed of this run. */
export interface Grant {
  approvalId: number;
  by: string;
  at: number;
  covers: Record<string, unknown>;
  /** The decision's re-check read this run's provider (its own card; a group's card reads no member's key). */
  rechecked: boolean;
}

export interface GrantFacts extends CallFacts {
  grant?: Grant;
}

/** One run a card covers, and what the card shows of it (a group's card: each member's key or switch). */
export interface CardEntry {
  runId: number;
  [key: string]: unknown;
}

/** The decision's own re-check read the provider this recently: the first call may trust it instead of reading again. */
export const RECHECK_FRESH_MS = 60_000;

export function grantOf(facts: GrantFacts): Grant | undefined {
  return facts.grant;
}

/** Who approved what the run does now, for its messages. */
export function approverOf(facts: GrantFacts): string {
  return facts.grant?.by ?? '?';
}

/** The grant written at the decision on the run's own card. */
export function ownGrant(approval: Approval, by: string, now: number): Grant {
  return { approvalId: approval.id, by, at: now, covers: approval.snapshot, rechecked: true };
}

/**
 * Right after the decision, whose re-check read the provider a moment ago, and before the call `key` was tried: the
 * first call is sent without reading the provider once more (the floor of OVH calls counts on it).
 */
export function freshlyGranted(facts: GrantFacts, key: string, now: number): boolean {
  const grant = facts.grant;
  return grant?.rechecked === true && now - grant.at < RECHECK_FRESH_MS && callRecord(facts, key) === undefined;
}

/** Whether the run may act under its grant now. */
export function grantHolds(run: Run, view: StoreView, now: number): boolean {
  const grant = (run.facts as GrantFacts).grant;
  if (!grant) return false;
  const approval = view.approval(grant.approvalId);
  if (approval?.status !== 'approved') return false;
  if (approval.runId === run.id) return true;
  const holder = view.run(approval.runId);
  return holder !== undefined && !isFinished(holder.state) && approval.expiresAt > now && lists(approval, grant.covers);
}

/** A member's share of an approved card of its group that lists `entry`, while the group is active and the card valid. */
export function shareOf(view: StoreView, holderId: number, entry: CardEntry, now: number): Grant | undefined {
  const holder = view.run(holderId);
  if (!holder || isFinished(holder.state)) return undefined;
  const approval = view
    .approvals(holderId)
    .filter((a) => a.status === 'approved' && a.expiresAt > now && lists(a, entry))
    .at(-1);
  return (
    approval && { approvalId: approval.id, by: approval.decidedBy ?? '?', at: now, covers: entry, rechecked: false }
  );
}

/**
 * The card of the holder that answers `entry`, if one does: pending or approved and still valid, or rejected. An
 * approved card past its expiry answers nothing any more: the entry is asked again.
 */
export function cardFor(view: StoreView, holderId: number, entry: CardEntry, now: number): Approval | undefined {
  const answers = (a: Approval) =>
    a.status === 'rejected' || ((a.status === 'pending' || a.status === 'approved') && a.expiresAt > now);
  return view
    .approvals(holderId)
    .filter((a) => answers(a) && lists(a, entry))
    .at(-1);
}

/** The entries a card lists (a group's card); none for a card of one run. */
export function entriesOf(approval: Approval): CardEntry[] {
  return (approval.snapshot as { members?: CardEntry[] }).members ?? [];
}

export function lists(approval: Approval, entry: Record<string, unknown>): boolean {
  return entriesOf(approval).some((listed) => sameEntry(listed, entry));
}

function sameEntry(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}
