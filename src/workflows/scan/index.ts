import type { Run } from '../../domain/runs.ts';
import { countsLine, type ScanResult, type ScanSummary, summarize } from '../../domain/scan.ts';
import { need } from '../../engine/invariant.ts';
import { proceed } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../../engine/types.ts';
import { errorMessage, isTransient } from '../../providers/errors.ts';
import { longestZone, ZoneApi } from '../../providers/ovh-api.ts';
import {
  type LookedAt,
  MailDiscovery,
  OFFER_LABELS,
  parseServiceSpec,
  serviceSpec,
  skippedNote,
} from '../../providers/ovh-mail.ts';
import type { PendingScan } from '../../store/scans.ts';
import { ovhOf } from '../setup/facts.ts';
import { checkDomain } from './check.ts';

/**
 * `/dkim scan` (DESIGN §2.7): every domain of every Exchange service, Email Pro service and MX Plan of the account,
 * its DKIM at OVH and what DNS serves. A run like the others: discovery (shared, kept answers) writes the list of
 * domains, then each step checks a few and writes their results, so a restart goes on where the scan was; the
 * parent message shows how far it is and how long it still needs at the configured rate.
 */

export interface ScanFacts {
  total?: number;
  checked?: number;
  /** OVH calls the checks made so far, and what the rest is expected to cost (from the offers found). */
  ovhCalls?: number;
  expectedCalls?: number;
  lookedAt?: LookedAt[];
  /** Domains (by position) whose check met trouble that may pass, and how often: they go to the back of the queue. */
  strikes?: Record<string, number>;
  /** The trouble said in the thread already: each is said once a scan. */
  troubleSaid?: string[];
  /** Once done: the counts, and the first domains a setup would fix (the rest are in the CSV). */
  summary?: ScanSummary;
  lastObservation?: string;
  [key: string]: unknown;
}

/** Domains checked per step, and at once: a step stays short, so progress is written often and a restart loses little. */
const BATCH = 10;
const PARALLEL = 4;
/** Tries of a domain whose check keeps meeting trouble that may pass; the last one's trouble is its result. */
export const DOMAIN_TRIES = 3;
/** The fewest OVH calls a domain's check costs, by offer: the key list and two keys; MX Plan's one read. */
const EXPECTED_CALLS = { keyed: 3, mxplan: 1 };

type Facts = ScanFacts;

export const scanWorkflow: Workflow = {
  kind: 'scan',
  firstState: 'discovering',
  background: true,
  waitingStates: ['discovering', 'scanning'],
  beforeApproval: () => 'scanning',
  afterApproval: () => 'scanning',
  approvedStates: [],

  async step(run, ctx) {
    const facts = run.facts as Facts;
    switch (run.state) {
      case 'discovering':
        return discoverAll(run, facts, ctx);
      case 'scanning':
        return scanSome(run, facts, ctx);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  recheckApproval: async () => 'a scan asks for no approval.',
};

/**
 * The account as it is when the scan was asked for: kept discovery answers read before that are read again, once,
 * and the fresh ones are shared with every run (setups started from the scan's buttons among them).
 */
async function discoverAll(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const ovh = ovhOf(ctx);
  const { domains, lookedAt } = await new MailDiscovery(ovh, ctx.shared).everything(run.id);
  if (domains.length === 0) return nothingToScan(facts, lookedAt);
  const zones = await new ZoneApi(ovh, ctx.shared).zones(run.id);
  const found = domains
    .map(({ domain, at }) => ({ domain, service: serviceSpec(at), zone: longestZone(zones, domain) }))
    .sort((a, b) => a.domain.localeCompare(b.domain) || a.service.localeCompare(b.service));
  const expectedCalls = found.reduce((sum, f) => sum + (f.service === 'mxplan' ? 1 : EXPECTED_CALLS.keyed), 0);
  const next = { ...facts, total: found.length, checked: 0, ovhCalls: 0, expectedCalls, lookedAt };
  const outcome = proceed('scanning', { ...next, lastObservation: progressLine(next, ctx) }, [
    { type: 'reply', text: `Found ${found.length} domains: ${describeFound(found, lookedAt)}. Checking each one.` },
  ]);
  return { ...outcome, scan: { found } };
}

function nothingToScan(facts: Facts, lookedAt: LookedAt[]): StepOutcome {
  const text = `This OVH account has no domain on an Exchange service, an Email Pro service or an MX Plan: nothing to scan. The bot looked at ${describeLookedAt(lookedAt)}. Check that its OVH credentials belong to the account that holds the mail services and may read \`/email/*\`.`;
  return {
    state: 'done',
    facts: { ...facts, total: 0, lookedAt, summary: summarize([]), lastObservation: text },
    next: 'none',
    notices: [{ type: 'reply', level: 'warning', mention: true, text }],
  };
}

/** "2 on Exchange (1 service), 1 on Email Pro (1 service), 1 on MX Plan", and the offers that could not be read. */
function describeFound(found: { service: string }[], lookedAt: LookedAt[]): string {
  return lookedAt
    .map((l) => {
      if (l.unreadable) return `${OFFER_LABELS[l.offer]} not readable with these credentials (${l.unreadable})`;
      const count = found.filter((f) => parseServiceSpec(f.service)?.offer === l.offer).length;
      const services = l.offer === 'mxplan' ? '' : ` (${l.services} service${l.services === 1 ? '' : 's'})`;
      return `${count} on ${OFFER_LABELS[l.offer]}${services}${skippedNote(l)}`;
    })
    .join(', ');
}

function describeLookedAt(lookedAt: LookedAt[]): string {
  return lookedAt
    .map((l) => {
      if (l.unreadable) return `${OFFER_LABELS[l.offer]} (not readable with these credentials: ${l.unreadable})`;
      if (l.offer === 'mxplan') return `MX Plan (${l.services ? 'domains found' : 'none'})`;
      return `${OFFER_LABELS[l.offer]} (${l.services} service${l.services === 1 ? '' : 's'})${skippedNote(l)}`;
    })
    .join(', ');
}

/**
 * Checks the next few domains. A domain met by trouble that may pass goes to the back of the queue and is tried
 * again later, up to DOMAIN_TRIES times, so that one domain cannot hold the scan; a step that checked none looks
 * again with backoff, as any step troubled by its provider.
 */
async function scanSome(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const strikes = facts.strikes ?? {};
  const pending = nextBatch(ctx.view.scanPending(run.id, BATCH + Object.keys(strikes).length), strikes);
  if (pending.length === 0) return finish(run, facts, ctx);
  const ovh = ovhOf(ctx);
  const settled = await inParallel(pending, PARALLEL, (entry) =>
    checkDomain(
      ovh,
      ctx.dns,
      {
        domain: entry.domain,
        at: need(parseServiceSpec(entry.service), `the service of ${entry.domain}`),
        zone: entry.zone,
      },
      (strikes[entry.position] ?? 0) >= DOMAIN_TRIES - 1,
    ),
  );
  const checked: { position: number; result: ScanResult }[] = [];
  const struck = { ...strikes };
  let calls = 0;
  let trouble: unknown;
  settled.forEach((outcome, i) => {
    const { position } = need(pending[i], 'the domain of a settled check');
    if (outcome.status === 'rejected') {
      trouble ??= outcome.reason;
      struck[position] = (struck[position] ?? 0) + 1;
      return;
    }
    delete struck[position];
    calls += outcome.value.ovhCalls;
    checked.push({ position, result: outcome.value.result });
  });
  if (trouble !== undefined && !isTransient(trouble)) throw trouble;
  const next = {
    ...facts,
    strikes: struck,
    checked: (facts.checked ?? 0) + checked.length,
    ovhCalls: (facts.ovhCalls ?? 0) + calls,
    expectedCalls: Math.max(0, (facts.expectedCalls ?? 0) - expectedFor(pending, checked)),
  };
  const withProgress = { ...next, lastObservation: progressLine(next, ctx) };
  const outcome: StepOutcome = {
    state: 'scanning',
    facts: withProgress,
    next: 'now',
    progress: true,
    scan: { checked },
  };
  if (trouble === undefined) return outcome;
  const message = errorMessage(trouble);
  const said = facts.troubleSaid ?? [];
  const text = `Trouble talking to the provider, will try again: ${message}`;
  return {
    ...outcome,
    facts: { ...withProgress, troubleSaid: said.includes(message) ? said : [...said, message].slice(-10) },
    next: checked.length > 0 ? 'now' : 'wait',
    lastError: message,
    notices: said.includes(message) ? [] : [{ type: 'reply', level: 'warning', text }],
  };
}

/** The first domains never troubled, in the order found; then those troubled, fewest tries first. */
function nextBatch(pending: PendingScan[], strikes: Record<string, number>): PendingScan[] {
  const tries = (p: PendingScan) => strikes[p.position] ?? 0;
  return [...pending].sort((a, b) => tries(a) - tries(b) || a.position - b.position).slice(0, BATCH);
}

function expectedFor(pending: PendingScan[], checked: { position: number }[]): number {
  const done = new Set(checked.map((c) => c.position));
  return pending
    .filter((p) => done.has(p.position))
    .reduce((sum, p) => sum + (p.service === 'mxplan' ? 1 : EXPECTED_CALLS.keyed), 0);
}

/** "120 / 480 domains, about 6 min left at 60 requests/min". */
function progressLine(facts: Facts, ctx: StepContext): string {
  const rate = ctx.ovhRatePerMinute ?? 60;
  const checked = facts.checked ?? 0;
  const minutes = Math.ceil((facts.expectedCalls ?? 0) / rate);
  const left = minutes <= 1 ? 'about a minute left' : `about ${minutes} min left`;
  return `${checked} / ${facts.total ?? 0} domains, ${left} at ${rate} requests/min`;
}

function finish(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const results = ctx.view.scanResults(run.id);
  const summary = summarize(results);
  const counts = summary.counts;
  return {
    state: 'done',
    facts: { ...facts, summary, lastObservation: countsLine(counts) },
    next: 'none',
    notices: [
      {
        type: 'file',
        filename: `dkim-scan-${new Date(ctx.now).toISOString().slice(0, 10)}-run${run.id}.csv`,
        title: `DKIM, SPF and DMARC of ${counts.total} domains`,
        comment: `The whole table: every domain, its offer and service, DKIM at OVH and in DNS per selector, SPF, DMARC and what to do next.`,
      },
    ],
  };
}

/** Runs `work` on every item, at most `limit` at once, and says how each went. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>) {
  const settled: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        settled[i] = { status: 'fulfilled', value: await work(items[i] as T) };
      } catch (reason) {
        settled[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return settled;
}
