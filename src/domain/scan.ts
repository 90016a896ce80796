import { csv } from './csv.ts';
import { findDmarc, readPolicy } from './dmarc-record.ts';
import {
  countReadiness,
  type Readiness,
  type ReadinessCounts,
  readinessCells,
  readinessLine,
  readinessWords,
  spfLookupSteps,
} from './readiness.ts';
import { findSpf, includes } from './spf.ts';

/**
 * The fleet scan's rules (DESIGN §2.7), pure: what a domain's DKIM, SPF and DMARC say, what to do next, the counts
 * and the CSV. The scan workflow gathers the facts; this decides what they mean.
 */

/** Where DKIM stands at OVH for a domain. */
export type DkimState = 'none' | 'waiting' | 'ready' | 'signing' | 'changing' | 'error';

export const DKIM_STATE_LABELS: Record<DkimState, string> = {
  signing: 'signing',
  ready: 'ready, not signing',
  waiting: 'keys waiting for their record',
  none: 'no DKIM',
  changing: 'being changed at OVH',
  error: 'error',
};

/** The order the summary counts them in. */
export const DKIM_STATES: readonly DkimState[] = ['signing', 'ready', 'waiting', 'none', 'changing', 'error'];

export interface SelectorCheck {
  selector: string;
  /** OVH's status of its key (Exchange, Email Pro), or of the domain's switch's record (MX Plan: set, toSet, toFix). */
  status: string;
  /** What DNS serves for it: the CNAME to the target and a key there (`ok`), not that (`wrong`), or not asked. */
  dns: 'ok' | 'wrong' | 'unknown';
  observation: string;
}

export type SpfState = 'ok' | 'missing' | 'no_ovh_include' | 'multiple' | 'error';
export type DmarcState = 'ok' | 'missing' | 'invalid' | 'multiple' | 'error';

export interface ScanResult {
  domain: string;
  /** The service spec (`exchange/<org>/<service>`, `pro/<service>`, `mxplan`) and how people read it. */
  service: string;
  where: string;
  /** The OVH zone holding its records, or null when its DNS is elsewhere. */
  zone: string | null;
  dkim: DkimState;
  /** The selector that signs, when one does. */
  signing?: string;
  /** Exchange, Email Pro: the other selector's key, when DKIM signs. */
  spare?: 'ready' | 'not ready' | 'none';
  selectors: SelectorCheck[];
  /** OVH's own words when it could not be read. */
  error?: string;
  spf: { state: SpfState; record?: string };
  dmarc: { state: DmarcState; policy?: string; record?: string };
  /** The bulk senders' rules (DESIGN §2.8); results stored before it was counted have none: read them as unknown. */
  readiness?: Readiness;
  /** What to do next, in words; `nothing` when all is well. */
  next: string;
  /** A setup run would do the next thing (no DKIM yet, keys waiting, ready to enable). */
  needsSetup: boolean;
}

/** The OVH key statuses of a domain's selectors (Exchange, Email Pro) as one state. */
export function keyedState(statuses: string[]): DkimState {
  if (statuses.length === 0) return 'none';
  if (statuses.includes('inProduction')) return 'signing';
  if (statuses.some((s) => ['enabling', 'disabling', 'deleting'].includes(s))) return 'changing';
  if (statuses.includes('ready')) return 'ready';
  return 'waiting';
}

/** MX Plan's switch (`email.domain.dkim_simplified`) as one state. */
export function mxPlanState(status: string): DkimState {
  switch (status) {
    case 'enabled':
      return 'signing';
    case 'toConfigure':
      return 'waiting';
    case 'modifying':
      return 'changing';
    case 'error':
      return 'error';
    default:
      return 'none';
  }
}

/** The apex's TXT records as SPF: one `v=spf1` record, which (for an OVH mail offer) includes `mx.ovh.com`. */
export function readSpf(txt: string[]): ScanResult['spf'] {
  const found = findSpf(txt);
  if (found.kind === 'none') return { state: 'missing' };
  if (found.kind === 'permerror') return { state: 'multiple', record: found.records.join(' | ') };
  return { state: includes(found.record) ? 'ok' : 'no_ovh_include', record: found.record };
}

/** `_dmarc`'s TXT records as DMARC, read as `/dkim dmarc` reads them: one `v=DMARC1` record with a valid `p=`. */
export function readDmarc(txt: string[]): ScanResult['dmarc'] {
  const found = findDmarc(txt);
  if (found.kind === 'none') return { state: 'missing' };
  if (found.kind === 'invalid') {
    return { state: found.records.length > 1 ? 'multiple' : 'invalid', record: found.records.join(' | ') };
  }
  const { p, pInvalid } = readPolicy(found.tags);
  if (pInvalid) return { state: 'invalid', record: found.record };
  return { state: 'ok', policy: p, record: found.record };
}

/** What to do next for a domain, most urgent first, and whether a setup run does it. */
export function nextSteps(result: Omit<ScanResult, 'next' | 'needsSetup'>): { next: string; needsSetup: boolean } {
  const steps: string[] = [];
  const needsSetup = ['none', 'waiting', 'ready'].includes(result.dkim);
  switch (result.dkim) {
    case 'error':
      steps.push(`look at OVH's answer: ${result.error ?? 'unknown error'}`);
      break;
    case 'none':
      steps.push('set up DKIM');
      break;
    case 'waiting':
      steps.push('set up DKIM (the keys wait for their DNS records)');
      break;
    case 'ready':
      steps.push('set up DKIM (the key is ready: approve signing)');
      break;
    case 'changing':
      steps.push('wait: OVH is changing DKIM');
      break;
    case 'signing': {
      const broken = result.selectors.find((s) => s.selector === result.signing && s.dns === 'wrong');
      if (broken) steps.push(`fix the DNS record of \`${broken.selector}\`: ${broken.observation}`);
      break;
    }
  }
  const spf = {
    ok: undefined,
    missing: 'publish an SPF record (`v=spf1 include:mx.ovh.com ~all`)',
    no_ovh_include: 'add `include:mx.ovh.com` to the SPF record',
    multiple: 'merge the SPF records into one (two make SPF fail)',
    error: 'SPF could not be read in DNS',
  }[result.spf.state];
  if (spf) steps.push(spf);
  steps.push(...spfLookupSteps(result.readiness));
  const dmarc = {
    ok: result.dmarc.policy === 'none' ? 'DMARC only monitors (p=none): consider quarantine' : undefined,
    missing: 'publish a DMARC record at `_dmarc` (start with `p=none`)',
    invalid: 'fix the DMARC record: it has no valid `p=` policy',
    multiple: 'keep one DMARC record (two make DMARC fail)',
    error: 'DMARC could not be read in DNS',
  }[result.dmarc.state];
  if (dmarc) steps.push(dmarc);
  return { next: steps.length > 0 ? steps.join('; ') : 'nothing', needsSetup };
}

export interface ScanCounts {
  total: number;
  dkim: Record<DkimState, number>;
  /** SPF missing, several, or without mx.ovh.com. */
  spfProblems: number;
  dmarcMissing: number;
  needsSetup: number;
  /** The bulk senders' rules, and what keeps the domains not ready (summaries stored before have neither). */
  readiness?: ReadinessCounts['readiness'];
  notReadyBecause?: ReadinessCounts['notReadyBecause'];
}

export function countResults(results: ScanResult[]): ScanCounts {
  const dkim = Object.fromEntries(DKIM_STATES.map((s) => [s, 0])) as Record<DkimState, number>;
  let spfProblems = 0;
  let dmarcMissing = 0;
  let needsSetup = 0;
  for (const r of results) {
    dkim[r.dkim]++;
    if (r.spf.state !== 'ok') spfProblems++;
    if (r.dmarc.state !== 'ok') dmarcMissing++;
    if (r.needsSetup) needsSetup++;
  }
  return { total: results.length, dkim, spfProblems, dmarcMissing, needsSetup, ...countReadiness(results) };
}

/** One domain as a finished scan shows it. */
export interface ScanLine {
  domain: string;
  service: string;
  /** The offer and service as people read them ("Exchange service org1/svc1"). */
  where: string;
  dkim: DkimState;
  signing?: string;
  /** DMARC's policy (`p=none`), or what is wrong with it. */
  dmarc: string;
  next: string;
  needsSetup: boolean;
  /** The bulk senders' rules (lines stored before have none). */
  readiness?: Readiness;
}

/**
 * What a finished scan shows: the counts, and its domains — every one for an account of up to SMALL_ACCOUNT, those a
 * setup would fix first; for a larger one, the first of those and the rest counted. The CSV has them all.
 */
export interface ScanSummary {
  counts: ScanCounts;
  shown: ScanLine[];
  /** Every domain is among `shown`. */
  all: boolean;
}

/** Up to this many domains, a scan shows every one. */
export const SMALL_ACCOUNT = 40;
/** A larger account shows this many of the domains needing a setup (each with its button). */
export const SHOWN_NEEDING = 20;

/** The lines a finished scan shows: a setup's domains first, then the others needing something, then the rest. */
export function summarize(results: ScanResult[]): ScanSummary {
  const rank = (r: ScanResult) => (r.needsSetup ? 0 : r.next !== 'nothing' ? 1 : 2);
  const sorted = [...results].sort((a, b) => rank(a) - rank(b));
  const all = results.length <= SMALL_ACCOUNT;
  const shown = (all ? sorted : sorted.filter((r) => r.needsSetup).slice(0, SHOWN_NEEDING)).map(lineOf);
  return { counts: countResults(results), shown, all };
}

function lineOf(r: ScanResult): ScanLine {
  const dmarc = r.dmarc.state === 'ok' ? `p=${r.dmarc.policy}` : r.dmarc.state;
  return {
    domain: r.domain,
    service: r.service,
    where: r.where,
    dkim: r.dkim,
    ...(r.signing ? { signing: r.signing } : {}),
    dmarc,
    next: r.next,
    needsSetup: r.needsSetup,
    ...(r.readiness ? { readiness: r.readiness } : {}),
  };
}

/** The counts in one line: `310 signing · 12 ready, not signing · …` (states with none left out). */
export function countsLine(counts: ScanCounts): string {
  const states = DKIM_STATES.filter((s) => counts.dkim[s] > 0).map((s) => `${counts.dkim[s]} ${DKIM_STATE_LABELS[s]}`);
  return [
    `${counts.total} domain${counts.total === 1 ? '' : 's'}: ${states.join(' · ') || 'none'}`,
    `SPF to fix: ${counts.spfProblems} · DMARC missing or to fix: ${counts.dmarcMissing}`,
    ...(counts.readiness ? [readinessLine(counts.readiness, counts.notReadyBecause)] : []),
  ].join('\n');
}

/** One domain as the CLI's table prints it: tab-separated, its bulk-sender readiness before what to do next. */
export function scanTableLine(r: ScanResult): string {
  const dkim = r.signing ? `${r.dkim} (${r.signing})` : r.dkim;
  const lookups = r.readiness?.spfLookups;
  const spf = lookups === undefined ? r.spf.state : `${r.spf.state} (${lookups} look-ups)`;
  const dmarc = r.dmarc.policy ?? r.dmarc.state;
  const bulk = `bulk senders: ${readinessWords(r.readiness)}`;
  return [r.domain, r.service, dkim, `SPF ${spf}`, `DMARC ${dmarc}`, bulk, r.next.replace(/`/g, '')].join('\t');
}

const CSV_COLUMNS = [
  'domain',
  'offer_service',
  'zone',
  'dkim',
  'signing_selector',
  'spare',
  'selectors',
  'spf',
  'spf_record',
  'dmarc',
  'dmarc_policy',
  'next',
  'bulk_sender',
  'bulk_sender_why',
  'spf_lookups',
] as const;

/** The whole table, RFC 4180; a cell that a spreadsheet would run as a formula is quoted as text. */
export function scanCsv(results: ScanResult[]): string {
  const rows = results.map((r) => [
    r.domain,
    r.service,
    r.zone ?? 'elsewhere',
    r.dkim,
    r.signing ?? '',
    r.spare ?? '',
    r.selectors.map((s) => `${s.selector}:${s.status}:dns ${s.dns}`).join(' '),
    r.spf.state,
    r.spf.record ?? '',
    r.dmarc.state,
    r.dmarc.policy ?? '',
    r.next.replace(/`/g, ''),
    ...readinessCells(r.readiness),
  ]);
  return csv([[...CSV_COLUMNS], ...rows]);
}
