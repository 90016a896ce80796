import type { DmarcPolicy } from './dmarc-record.ts';
import { SPF_LOOKUP_LIMIT, SPF_VOID_LOOKUP_LIMIT } from './spf.ts';

/**
 * The bulk senders' rules (DESIGN §2.8), pure: since 2024 Google and Yahoo, and since May 2025 Microsoft, reject bulk
 * mail without SPF, DKIM and a DMARC record (`p=none` at least). The fleet scan judges each domain by what it read
 * (src/domain/scan.ts) and counts the verdicts; nothing here reads DNS or OVH.
 */

export type ReadinessVerdict = 'ready' | 'not_ready' | 'unknown';

/** A rule a domain does not meet (the first nine), or what could not be read to say (the last four). */
export type ReadinessReason =
  | 'spf_missing'
  | 'spf_multiple'
  | 'spf_over_limit'
  | 'spf_void_lookups'
  | 'spf_permerror'
  | 'dkim_not_signing'
  | 'dkim_record_wrong'
  | 'dmarc_missing'
  | 'dmarc_invalid'
  | 'dmarc_multiple'
  | 'spf_unreadable'
  | 'spf_uncounted'
  | 'dkim_unreadable'
  | 'dmarc_unreadable';

/** Each reason in a few words, in the order they are said. */
export const READINESS_REASONS: Record<ReadinessReason, string> = {
  spf_missing: 'no SPF',
  spf_multiple: 'several SPF records',
  spf_over_limit: `SPF over ${SPF_LOOKUP_LIMIT} DNS look-ups`,
  spf_void_lookups: `SPF over ${SPF_VOID_LOOKUP_LIMIT} look-ups that find nothing`,
  spf_permerror: 'SPF that receivers fail on',
  dkim_not_signing: 'DKIM not signing',
  dkim_record_wrong: "the signing key's DNS record is wrong",
  dmarc_missing: 'no DMARC',
  dmarc_invalid: 'DMARC without a valid p= policy',
  dmarc_multiple: 'several DMARC records',
  spf_unreadable: 'SPF not readable in DNS',
  spf_uncounted: "SPF's look-ups not countable in DNS",
  dkim_unreadable: 'DKIM not readable at OVH',
  dmarc_unreadable: 'DMARC not readable in DNS',
};

const UNREAD: ReadonlySet<ReadinessReason> = new Set([
  'spf_unreadable',
  'spf_uncounted',
  'dkim_unreadable',
  'dmarc_unreadable',
]);
const DMARC_POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];

/** A domain's verdict, stored with its scan result. */
export interface Readiness {
  verdict: ReadinessVerdict;
  /** Every rule not met, and what could not be read; none when ready. */
  reasons: ReadinessReason[];
  /** SPF's DNS-querying terms through its includes and redirects, and its look-ups that found nothing. */
  spfLookups?: number;
  spfVoidLookups?: number;
  /** DMARC's `p=`, when the domain has one valid record. */
  policy?: DmarcPolicy;
}

/** SPF's look-ups as `countLookups` counted them in DNS, or why they could not be counted. */
export type SpfCount =
  | { count: number; voidLookups: number; permerror?: boolean; unfollowed?: number }
  | { error: string };

/** What the scan read of a domain (its states as src/domain/scan.ts names them). */
export interface ReadinessFacts {
  /** OVH's DKIM state: `signing`, `error`, or another (not signing). */
  dkim: string;
  signing?: string;
  selectors: readonly { selector: string; dns: string }[];
  /** `ok`, `no_ovh_include` (both one record), `missing`, `multiple`, `error`. */
  spf: { state: string };
  /** `ok` (with its policy), `missing`, `invalid`, `multiple`, `error`. */
  dmarc: { state: string; policy?: string };
}

const SPF_REASONS: Record<string, ReadinessReason> = {
  missing: 'spf_missing',
  multiple: 'spf_multiple',
  error: 'spf_unreadable',
};
const DMARC_REASONS: Record<string, ReadinessReason> = {
  missing: 'dmarc_missing',
  invalid: 'dmarc_invalid',
  multiple: 'dmarc_multiple',
  error: 'dmarc_unreadable',
};

/**
 * One SPF record within RFC 7208's limits (10 DNS look-ups, 2 that find nothing), DKIM signing (its key's record
 * not seen wrong in DNS), one DMARC record with a policy (`p=none` is enough). Not ready when a rule is not met;
 * unknown when none is known to be broken but something could not be read. From alignment holds for OVH's DKIM,
 * which signs as the domain itself.
 */
export function bulkReadiness(facts: ReadinessFacts, lookups?: SpfCount): Readiness {
  const reasons: ReadinessReason[] = [];
  const counted = lookups && 'count' in lookups ? lookups : undefined;
  const spf = SPF_REASONS[facts.spf.state];
  if (spf) reasons.push(spf);
  else if (!counted) reasons.push('spf_uncounted');
  else {
    if (counted.count > SPF_LOOKUP_LIMIT) reasons.push('spf_over_limit');
    if (counted.voidLookups > SPF_VOID_LOOKUP_LIMIT) reasons.push('spf_void_lookups');
    if (counted.permerror) reasons.push('spf_permerror');
    else if (counted.unfollowed) reasons.push('spf_uncounted');
  }
  if (facts.dkim === 'error') reasons.push('dkim_unreadable');
  else if (facts.dkim !== 'signing') reasons.push('dkim_not_signing');
  else if (facts.selectors.some((s) => s.selector === facts.signing && s.dns === 'wrong')) {
    reasons.push('dkim_record_wrong');
  }
  const dmarc = DMARC_REASONS[facts.dmarc.state];
  if (dmarc) reasons.push(dmarc);
  const policy = facts.dmarc.state === 'ok' ? DMARC_POLICIES.find((p) => p === facts.dmarc.policy) : undefined;
  return {
    verdict: reasons.some((r) => !UNREAD.has(r)) ? 'not_ready' : reasons.length > 0 ? 'unknown' : 'ready',
    reasons,
    ...(counted ? { spfLookups: counted.count, spfVoidLookups: counted.voidLookups } : {}),
    ...(policy ? { policy } : {}),
  };
}

/** Why, in words: `no DMARC, SPF needs 12 DNS look-ups (10 at most)`; '' when ready. */
export function readinessWhy(readiness: Readiness | undefined): string {
  if (!readiness) return 'not checked (scanned before the bot counted it)';
  return readiness.reasons.map((r) => reasonWords(r, readiness)).join(', ');
}

/** A domain's readiness in words: `ready`, `not ready (no DMARC, DKIM not signing)`, `unknown (…)`. */
export function readinessWords(readiness: Readiness | undefined): string {
  const verdict = readiness?.verdict ?? 'unknown';
  return verdict === 'ready' ? 'ready' : `${verdict.replace('_', ' ')} (${readinessWhy(readiness)})`;
}

function reasonWords(reason: ReadinessReason, readiness: Readiness): string {
  if (reason === 'spf_over_limit' && readiness.spfLookups !== undefined) {
    return `SPF needs ${readiness.spfLookups} DNS look-ups (${SPF_LOOKUP_LIMIT} at most)`;
  }
  if (reason === 'spf_void_lookups' && readiness.spfVoidLookups !== undefined) {
    return `SPF has ${readiness.spfVoidLookups} look-ups that find nothing (${SPF_VOID_LOOKUP_LIMIT} at most)`;
  }
  return READINESS_REASONS[reason];
}

/** The next steps SPF's look-ups call for (the scan's other steps already cover the other rules). */
export function spfLookupSteps(readiness: Readiness | undefined): string[] {
  const reasons = readiness?.reasons ?? [];
  return [
    ...(reasons.includes('spf_over_limit')
      ? [`cut SPF to ${SPF_LOOKUP_LIMIT} DNS look-ups (it needs ${readiness?.spfLookups}: receivers fail it)`]
      : []),
    ...(reasons.includes('spf_void_lookups')
      ? [`remove the SPF includes that find nothing (${readiness?.spfVoidLookups}: receivers fail it past 2)`]
      : []),
  ];
}

export interface ReadinessCounts {
  readiness: Record<ReadinessVerdict, number>;
  /** The domains not ready, by each rule they miss. */
  notReadyBecause: Partial<Record<ReadinessReason, number>>;
}

/** The verdicts of a scan's domains; a result stored before readiness was counted is unknown. */
export function countReadiness(results: readonly { readiness?: Readiness }[]): ReadinessCounts {
  const readiness: Record<ReadinessVerdict, number> = { ready: 0, not_ready: 0, unknown: 0 };
  const notReadyBecause: Partial<Record<ReadinessReason, number>> = {};
  for (const { readiness: r } of results) {
    readiness[r?.verdict ?? 'unknown']++;
    if (r?.verdict !== 'not_ready') continue;
    for (const reason of r.reasons) {
      if (!UNREAD.has(reason)) notReadyBecause[reason] = (notReadyBecause[reason] ?? 0) + 1;
    }
  }
  return { readiness, notReadyBecause };
}

/** `Bulk-sender rules (SPF, DKIM, DMARC): 3 ready · 4 not ready (3 DKIM not signing, 1 no DMARC) · 1 unknown`. */
export function readinessLine(
  verdicts: ReadinessCounts['readiness'],
  why: ReadinessCounts['notReadyBecause'] = {},
): string {
  const reasons = (Object.keys(READINESS_REASONS) as ReadinessReason[])
    .filter((r) => (why[r] ?? 0) > 0)
    .map((r) => `${why[r]} ${READINESS_REASONS[r]}`);
  const notReady = `${verdicts.not_ready} not ready${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`;
  const unknown = verdicts.unknown > 0 ? ` · ${verdicts.unknown} unknown` : '';
  return `Bulk-sender rules (SPF, DKIM, DMARC): ${verdicts.ready} ready · ${notReady}${unknown}`;
}

/** The CSV's cells: `bulk_sender` (the verdict), `bulk_sender_why`, `spf_lookups`. */
export function readinessCells(readiness: Readiness | undefined): [string, string, string] {
  return [
    readiness?.verdict ?? 'unknown',
    readiness?.verdict === 'ready' ? '' : readinessWhy(readiness),
    readiness?.spfLookups === undefined ? '' : String(readiness.spfLookups),
  ];
}
