import { absolute, relativeName, showRun, stripDot } from '../../domain/names.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Approval, Run } from '../../domain/runs.ts';
import { need } from '../../engine/invariant.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import { ProviderError } from '../../providers/errors.ts';
import type { Dkim } from '../../providers/ovh-api.ts';
import type { KeyedDkimApi } from '../../providers/ovh-mail.ts';
import { checkCname } from '../common/dns-check.ts';
import { enableUnderGrant } from '../common/enable-key.ts';
import { ensureCname, recordsToAdd } from '../common/publish.ts';
import { inGroup, memberReady } from '../group/member.ts';
import { lookAgainIfMoved } from './discover.ts';
import {
  type KeyedSetupFacts,
  type KeyRecord,
  keyedApi,
  recordOf,
  selectorsOf,
  signingOf,
  watchOf,
  zonesOf,
} from './facts.ts';

/**
 * DKIM on Exchange and Email Pro (DESIGN §2.1, §2.4): one flow for both offers, which differ only in where OVH keeps
 * the domain (`KeyedDkimApi`). Both selectors get a key and a published CNAME; only the first is ever enabled.
 */

export interface KeyedFacts extends KeyedSetupFacts {
  /** Selectors whose keys exist at OVH (created by us or found). */
  keys?: string[];
  reused?: string[];
  /** Selectors whose CNAME is in the OVH zone. */
  published?: string[];
  createdRecords?: boolean;
  /** Selectors whose CNAME the bot itself wrote (the only ones it may later point elsewhere). */
  written?: string[];
  recordsHandedOver?: boolean;
  looks?: number;
  statusChecks?: number;
  lastStatusAt?: number;
  lastStatus?: string;
  /** The first look in `waiting_ready`: OVH is asked at the longest spacing from here while DNS looks wrong. */
  waitingSince?: number;
}

/**
 * DNS looks are free; OVH status reads spend the rate budget. While DNS looks right, OVH is asked again after one
 * poller tick, then two, four… up to six times RECHECK_MAX_SECONDS (30 min by default); while DNS looks wrong, only at
 * that longest spacing (in case our resolvers lag).
 */
const STATUS_SPACING_FACTOR = 6;

type Facts = KeyedFacts;

export async function createKeys(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const keyed = keyedApi(ctx, facts, run.domain);
  let selectors = facts.selectors;
  if (!selectors) {
    try {
      selectors = (await keyed.selectors()).slice(0, 2);
    } catch (error) {
      return lookAgainIfMoved(run, facts, ctx, error);
    }
  }
  if (selectors.length === 0) {
    return failed(facts, run.state, `OVH offers no DKIM selector for ${showRun(run)}; DKIM cannot be set up for it.`);
  }
  let keys = facts.keys;
  let reused = facts.reused;
  if (!keys) {
    const existing = await keyed.existing();
    keys = selectors.filter((s) => existing.includes(s));
    reused = keys;
  }
  const missing = selectors.find((s) => !keys.includes(s));
  if (missing) {
    const result = await createKey(keyed, missing);
    return {
      state: run.state,
      facts: { ...facts, selectors, reused, keys: [...keys, missing] },
      next: 'now',
      events: [{ type: 'dkim_key', detail: { selector: missing, result } }],
    };
  }
  const [signing, spare] = selectors;
  const roles = [`\`${signing}\` (for signing)`, ...(spare ? [`\`${spare}\` (the spare, for rotation)`] : [])];
  const reusedText = reused && reused.length > 0 ? ` Reused existing keys: ${reused.join(', ')}.` : '';
  return proceed('publishing', { ...facts, selectors, keys, reused }, [
    { type: 'reply', text: `DKIM keys exist at OVH for ${roles.join(' and ')}.${reusedText}` },
  ]);
}

/** A refused create is checked against what exists: a key created by a call whose answer was lost is not an error. */
export async function createKey(keyed: KeyedDkimApi, selector: string) {
  try {
    return await keyed.create(selector);
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== 'terminal') throw error;
    if ((await keyed.existing()).includes(selector)) return 'exists' as const;
    throw error;
  }
}

export async function publish(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const keyed = keyedApi(ctx, facts, run.domain);
  const zones = zonesOf(ctx);
  const selectors = selectorsOf(facts);
  const records = { ...(facts.records ?? {}) };
  for (const selector of selectors) {
    if (records[selector]) continue;
    const dkim = await keyed.dkim(selector);
    if (!dkim.customerRecord || !dkim.targetRecord) {
      return waitFor(
        run,
        { ...facts, records },
        `OVH is still generating the key for ${selector} (status ${dkim.status}).`,
      );
    }
    records[selector] = { name: dkim.customerRecord, target: dkim.targetRecord };
  }
  const withRecords = { ...facts, records };
  if (!facts.zone) return handOverRecords(run, withRecords, records, selectors);

  const zone = facts.zone;
  const published = [...(facts.published ?? [])];
  for (const selector of selectors) {
    if (published.includes(selector)) continue;
    const record = need(records[selector], `the record of ${selector}`);
    const result = await ensureCname(zones, zone, record.name, record.target);
    if (result.kind === 'conflict') return failed({ ...withRecords, published }, run.state, result.message);
    if (result.kind === 'present') {
      published.push(selector);
      continue;
    }
    return {
      state: run.state,
      facts: {
        ...withRecords,
        published: [...published, selector],
        createdRecords: true,
        written: [...(facts.written ?? []), selector],
      },
      next: 'now',
      events: [{ type: 'record_created', detail: { zone, subDomain: result.subDomain, target: result.target } }],
    };
  }
  // Always refresh once before waiting: a record created by a call whose answer was lost is found by the listing
  // above, indistinguishable from an old one, and must still be applied. A second refresh is harmless.
  await zones.refresh(zone);
  const names = selectors
    .map((s) => `\`${relativeName(need(records[s], `the record of ${s}`).name, zone)}\``)
    .join(' and ');
  const action = facts.createdRecords ? 'published in' : 'already present in';
  return proceed('waiting_ready', { ...withRecords, published }, [
    {
      type: 'reply',
      text: `CNAME records ${names} ${action} zone *${zone}*, and the zone refreshed. OVH's robot checks about every 5 minutes; activation can take from 30 minutes to 24 hours.`,
    },
  ]);
}

function handOverRecords(run: Run, facts: Facts, records: Record<string, KeyRecord>, selectors: string[]) {
  if (facts.recordsHandedOver) return proceed('waiting_ready', facts);
  return proceed('waiting_ready', { ...facts, recordsHandedOver: true }, [
    {
      type: 'records',
      text: `The DNS zone of ${showRun(run)} is not at OVH. Add these records at your DNS host (both names are absolute: mind the final dots). The bot watches DNS and carries on by itself.`,
      records: recordsToAdd(
        selectors.map((s) => need(records[s], `the record of ${s}`)),
        run.domain,
      ),
    },
  ]);
}

export async function waitForReady(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const keyed = keyedApi(ctx, facts, run.domain);
  const signing = signingOf(facts);
  const record = recordOf(facts, signing);
  const looks = (facts.looks ?? 0) + 1;
  const waitingSince = facts.waitingSince ?? ctx.now;
  const dns = await checkCname(ctx.dns, record.name, record.target, { zone: facts.zone, expectDkimKey: true });
  const diagnose = !dns.ok && looks > 1 && dns.observation !== facts.postedDns;
  const notices: Notice[] = diagnose
    ? [{ type: 'reply', level: 'warning', text: `DNS check: ${dns.observation}` }]
    : [];
  const postedDns = diagnose ? dns.observation : facts.postedDns;
  if (!statusCheckDue({ ...facts, waitingSince }, dns.ok, ctx)) {
    const seen = facts.lastStatus ? `OVH status ${facts.lastStatus} at the last check. DNS: ` : 'DNS: ';
    return waitFor(run, { ...facts, looks, postedDns, waitingSince }, `${seen}${dns.observation}`, notices);
  }
  const dkim = await keyed.dkim(signing);
  const statusChecks = (facts.statusChecks ?? 0) + 1;
  const next = {
    ...facts,
    looks,
    waitingSince,
    statusChecks,
    lastStatusAt: ctx.now,
    lastStatus: dkim.status,
    lastDns: dns.observation,
  };

  switch (dkim.status) {
    case 'ready':
      if (inGroup(run))
        return memberReady(
          run,
          next,
          { selector: signing, target: need(dkim.targetRecord, 'the target of a ready key') },
          ctx,
          'enabling',
        );
      return approvalRequest(run, next, dkim, dns.ok, keyed);
    case 'inProduction':
      return done(
        next,
        `DKIM was already in production for ${showRun(run)} with \`${signing}\`: nothing to enable.`,
        ctx,
      );
    case 'enabling':
      return proceed('enabling', next, [
        { type: 'reply', text: 'Someone already asked OVH to enable DKIM; waiting for it.' },
      ]);
    case 'todo':
    case 'waitingRecord':
      return waitFor(run, next, `OVH status ${dkim.status}. DNS: ${dns.observation}`, notices);
    default:
      return failed(next, run.state, `The key \`${signing}\` is being ${dkim.status} at OVH; the bot leaves it alone.`);
  }
}

/**
 * OVH's status is worth a call only when DNS says it can have changed: while DNS serves the record and the key, at
 * growing spacing (the first look at once); while it does not, only at the longest spacing, in case our resolvers lag.
 */
function statusCheckDue(facts: Facts, dnsOk: boolean, { now, timing }: StepContext): boolean {
  const longest = timing.recheckMaxMs * STATUS_SPACING_FACTOR;
  if (!dnsOk) return now - (facts.lastStatusAt ?? facts.waitingSince ?? now) >= longest;
  if (facts.lastStatusAt === undefined) return true;
  const spacing = Math.min(timing.firstRecheckMs * 2 ** Math.max(0, (facts.statusChecks ?? 1) - 1), longest);
  return now - facts.lastStatusAt >= spacing;
}

/** The keys are ready: the card is the news, and names the requester (a new message notifies them). */
function approvalRequest(run: Run, facts: Facts, dkim: Dkim, dnsOk: boolean, keyed: KeyedDkimApi): StepOutcome {
  const signing = signingOf(facts);
  const spare = facts.selectors?.[1];
  const target = need(dkim.targetRecord, 'the target of a ready key');
  const ready = dnsOk
    ? 'The keys are ready: OVH sees the record and DNS serves the key.'
    : "The keys are ready at OVH, though the bot's own DNS look does not agree yet.";
  return {
    state: 'awaiting_approval',
    facts: { ...facts, lastObservation: `OVH status ready; ${dnsOk ? 'DNS record verified' : 'DNS not verified'}.` },
    next: 'none',
    approval: {
      action: 'enable',
      snapshot: { selector: signing, target, status: dkim.status },
      title: `Enable DKIM signing for ${showRun(run)}?`,
      lines: [
        ready,
        `Selector \`${signing}\` · record \`${stripDot(dkim.customerRecord ?? '')}\` CNAME \`${absolute(target)}\``,
        `OVH call: \`POST ${keyed.enablePath(signing)}\``,
        ...(spare ? [`The spare selector \`${spare}\` stays ready for rotation and is not enabled.`] : []),
      ],
    },
  };
}

export async function enable(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const signing = signingOf(facts);
  return enableUnderGrant(run, facts, ctx, {
    keyed: keyedApi(ctx, facts, run.domain),
    selector: signing,
    inProduction: (next) =>
      done(next, `DKIM is in production for ${showRun(run)}: mail is now signed with \`${signing}\`.`, ctx),
    // A member of a group waits instead: ready again with the record its card showed, it enables under the same
    // approval; with another record, it asks the group's next card.
    notAsApproved: inGroup(run)
      ? (next, why) =>
          proceed(
            'waiting_ready',
            { ...next, lastStatusAt: undefined, statusChecks: undefined, waitingSince: undefined },
            [
              {
                type: 'reply',
                level: 'warning',
                mention: true,
                text: `${showRun(run)}: the key \`${signing}\` ${why}, so it was not enabled. It waits: ready again with the record the group's card showed, it is enabled under that approval; with another record, it asks the group's next card.`,
              },
            ],
          )
      : undefined,
  });
}

function done(facts: Facts, text: string, ctx: StepContext): StepOutcome {
  const signing = signingOf(facts);
  const spare = facts.selectors?.[1];
  const spareText = spare ? ` The spare selector \`${spare}\` has its key and record, ready for rotation.` : '';
  const record = facts.records?.[signing];
  return {
    state: 'done',
    facts: { ...facts, lastObservation: 'DKIM in production.' },
    next: 'none',
    notices: [{ type: 'reply', level: 'success', mention: true, text: `${text}${spareText}` }],
    ...(record ? { watch: watchOf(facts, signing, record, ctx.now) } : {}),
  };
}

/** At the click: the key is still `ready`, with the target the card showed. */
export async function recheckKeyed(run: Run, approval: Approval, ctx: StepContext): Promise<string | undefined> {
  const snapshot = approval.snapshot as { selector: string; target: string };
  const dkim = await keyedApi(ctx, run.facts as Facts, run.domain).dkim(snapshot.selector);
  if (dkim.status !== 'ready') {
    return `the key is no longer ready at OVH (status is now ${dkim.status}).`;
  }
  if (stripDot(dkim.targetRecord ?? '') !== stripDot(snapshot.target)) {
    return `the target changed since the card was posted (now ${dkim.targetRecord}).`;
  }
  return undefined;
}
