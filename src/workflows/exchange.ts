import { mention } from '../domain/actors.ts';
import { absolute, relativeName, stripDot } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { ProviderError } from '../providers/errors.ts';
import { type Dkim, ExchangeApi, type ExchangeLocation, exchangeDomainPath, ZoneApi } from '../providers/ovh-api.ts';
import { checkCname } from './dns-check.ts';
import { failed, proceed, showRun, waitFor } from './outcomes.ts';
import { ensureCname, recordsToAdd } from './publish.ts';
import type { StepContext, StepOutcome, Workflow } from './types.ts';

/** OVH Hosted Exchange DKIM (DESIGN §2.1) as reconcile steps, one `switch` over the stored state. */

export interface ExchangeParams {
  org?: string;
  service?: string;
}

export interface KeyRecord {
  name: string;
  target: string;
}

export interface ExchangeFacts {
  org?: string;
  service?: string;
  /** The OVH zone holding the domain's records; null when the zone is elsewhere. */
  zone?: string | null;
  /** [signing, spare]. */
  selectors?: string[];
  /** Selectors whose keys exist at OVH (created by us or found). */
  keys?: string[];
  reused?: string[];
  records?: Record<string, KeyRecord>;
  /** Selectors whose CNAME is in the OVH zone. */
  published?: string[];
  createdRecords?: boolean;
  recordsHandedOver?: boolean;
  lastObservation?: string;
  looks?: number;
  statusChecks?: number;
  lastStatusAt?: number;
  lastStatus?: string;
  /** The last DNS diagnosis posted in the thread: each is posted once. */
  postedDns?: string;
  /** When the enable was about to be sent (written before the call) and when OVH took it. */
  enableAttemptAt?: number;
  enablePostedAt?: number;
  enablingSeen?: boolean;
  approvedBy?: string;
  /** When the approval's re-check found the key `ready`. */
  approvedAt?: number;
  /** The first look in `waiting_ready`: OVH is asked at the longest spacing from here while DNS looks wrong. */
  waitingSince?: number;
  /** Times the domain was looked up again because OVH no longer had it where the kept discovery said. */
  relocations?: number;
  [key: string]: unknown;
}

/**
 * DNS looks are free; OVH status reads spend the rate budget. While DNS looks right, OVH is asked again after one
 * poller tick, then two, four… up to six times RECHECK_MAX_SECONDS (30 min by default); while DNS looks wrong, only at
 * that longest spacing (in case our resolvers lag).
 */
const STATUS_SPACING_FACTOR = 6;
/** An enable that left the status `ready` with no task pending is repeated after this long. */
const ENABLE_REPEAT_AFTER_MS = 15 * 60_000;
/** An approval whose re-check read `ready` this recently is enabled without reading the status once more. */
const RECHECK_FRESH_MS = 60_000;

type Facts = ExchangeFacts;

export const exchangeWorkflow: Workflow = {
  kind: 'exchange',
  firstState: 'discovering',
  waitingStates: ['discovering', 'creating_keys', 'publishing', 'waiting_ready', 'enabling'],
  beforeApproval: 'waiting_ready',
  afterApproval: 'enabling',
  approvedStates: ['enabling'],

  async step(run, ctx) {
    const facts = run.facts as Facts;
    const apis = ovhApis(ctx);
    switch (run.state) {
      case 'discovering':
        return discover(run, facts, apis);
      case 'creating_keys':
        return createKeys(run, facts, apis);
      case 'publishing':
        return publish(run, facts, apis);
      case 'waiting_ready':
        return waitForReady(run, facts, apis, ctx);
      case 'enabling':
        return enable(run, facts, apis, ctx);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  freshLook(facts) {
    return { ...facts, lastStatusAt: undefined, statusChecks: undefined, waitingSince: undefined };
  },

  async recheckApproval(run, approval, ctx) {
    const facts = run.facts as Facts;
    const snapshot = approval.snapshot as { selector: string; target: string };
    const dkim = await ovhApis(ctx).exchange.dkim(location(facts), run.domain, snapshot.selector);
    if (dkim.status !== 'ready') {
      return `the key is no longer ready at OVH (status is now ${dkim.status}).`;
    }
    if (stripDot(dkim.targetRecord ?? '') !== stripDot(snapshot.target)) {
      return `the target changed since the card was posted (now ${dkim.targetRecord}).`;
    }
    return undefined;
  },
};

interface Apis {
  exchange: ExchangeApi;
  zones: ZoneApi;
}

function ovhApis(ctx: StepContext): Apis {
  if (!ctx.ovh) throw new ProviderError('ovh', 'terminal', 'OVH is not configured on this bot.');
  return { exchange: new ExchangeApi(ctx.ovh, ctx.shared), zones: new ZoneApi(ctx.ovh, ctx.shared) };
}

function location(facts: Facts): ExchangeLocation {
  return { org: facts.org!, service: facts.service! };
}

async function discover(run: Run, facts: Facts, { exchange, zones }: Apis): Promise<StepOutcome> {
  const params = run.params as ExchangeParams;
  const at =
    params.org && params.service
      ? { org: params.org, service: params.service }
      : await exchange.locate(run.domain, run.id);
  if (!at) {
    return failed(
      facts,
      run.state,
      `No Hosted Exchange service of this OVH account has ${showRun(run)}. Add the domain to the Exchange service in the OVH Control Panel (or check that the bot's OVH credentials belong to the right account), then \`/dkim retry\`.`,
    );
  }
  const zone = await zones.zoneOf(run.domain, run.id);
  const where = zone
    ? `its DNS zone *${zone}* is at OVH, so the bot will write the records itself`
    : 'its DNS zone is not at OVH, so you will be given the records to add at your DNS host';
  return proceed('creating_keys', { ...facts, ...at, zone }, [
    { type: 'reply', text: `Found ${showRun(run)} on Exchange service \`${at.org}/${at.service}\`; ${where}.` },
  ]);
}

async function createKeys(run: Run, facts: Facts, apis: Apis): Promise<StepOutcome> {
  const { exchange } = apis;
  const at = location(facts);
  let selectors = facts.selectors;
  if (!selectors) {
    try {
      selectors = (await exchange.selectors(at, run.domain)).slice(0, 2);
    } catch (error) {
      return lookAgainIfMoved(run, facts, apis, error);
    }
  }
  if (selectors.length === 0) {
    return failed(facts, run.state, `OVH offers no DKIM selector for ${showRun(run)}; DKIM cannot be set up for it.`);
  }
  let keys = facts.keys;
  let reused = facts.reused;
  if (!keys) {
    const existing = await exchange.existingDkim(at, run.domain);
    keys = selectors.filter((s) => existing.includes(s));
    reused = keys;
  }
  const missing = selectors.find((s) => !keys.includes(s));
  if (missing) {
    const result = await createKey(exchange, at, run.domain, missing);
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

/**
 * A 404 on the domain's own path: OVH no longer has it where the kept discovery answers said (moved, or removed).
 * Those answers are forgotten and the domain is looked up again, once; a service given by the user is not second-guessed.
 */
function lookAgainIfMoved(run: Run, facts: Facts, apis: Apis, error: unknown): StepOutcome {
  const pinned = Boolean((run.params as ExchangeParams).service);
  const notFound = error instanceof ProviderError && error.status === 404;
  if (!notFound || pinned || (facts.relocations ?? 0) >= 1) throw error;
  apis.exchange.forgetDiscovery();
  const { org, service } = facts;
  return proceed('discovering', { ...facts, org: undefined, service: undefined, relocations: 1 }, [
    {
      type: 'reply',
      level: 'warning',
      text: `OVH no longer has ${showRun(run)} on Exchange service \`${org}/${service}\`; looking for it again.`,
    },
  ]);
}

/** A refused create is checked against what exists: a key created by a call whose answer was lost is not an error. */
async function createKey(exchange: ExchangeApi, at: ExchangeLocation, domain: string, selector: string) {
  try {
    return await exchange.createDkim(at, domain, selector);
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== 'terminal') throw error;
    if ((await exchange.existingDkim(at, domain)).includes(selector)) return 'exists' as const;
    throw error;
  }
}

async function publish(run: Run, facts: Facts, { exchange, zones }: Apis): Promise<StepOutcome> {
  const at = location(facts);
  const selectors = facts.selectors!;
  const records = { ...(facts.records ?? {}) };
  for (const selector of selectors) {
    if (records[selector]) continue;
    const dkim = await exchange.dkim(at, run.domain, selector);
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
    const record = records[selector]!;
    const result = await ensureCname(zones, zone, record.name, record.target);
    if (result.kind === 'conflict') return failed({ ...withRecords, published }, run.state, result.message);
    if (result.kind === 'present') {
      published.push(selector);
      continue;
    }
    return {
      state: run.state,
      facts: { ...withRecords, published: [...published, selector], createdRecords: true },
      next: 'now',
      events: [{ type: 'record_created', detail: { zone, subDomain: result.subDomain, target: result.target } }],
    };
  }
  // Always refresh once before waiting: a record created by a call whose answer was lost is found by the listing
  // above, indistinguishable from an old one, and must still be applied. A second refresh is harmless.
  await zones.refresh(zone);
  const names = selectors.map((s) => `\`${relativeName(records[s]!.name, zone)}\``).join(' and ');
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
        selectors.map((s) => records[s]!),
        run.domain,
      ),
    },
  ]);
}

async function waitForReady(run: Run, facts: Facts, { exchange }: Apis, ctx: StepContext): Promise<StepOutcome> {
  const [signing] = facts.selectors!;
  const record = facts.records![signing!]!;
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
  const dkim = await exchange.dkim(location(facts), run.domain, signing!);
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
      return approvalRequest(run, next, dkim, dns.ok);
    case 'inProduction':
      return done(next, `DKIM was already in production for ${showRun(run)} with \`${signing}\`: nothing to enable.`);
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

function approvalRequest(run: Run, facts: Facts, dkim: Dkim, dnsOk: boolean): StepOutcome {
  const [signing, spare] = facts.selectors!;
  const target = dkim.targetRecord!;
  const call = `POST ${exchangeDomainPath(location(facts), run.domain)}/dkim/${signing}/enable`;
  return {
    state: 'awaiting_approval',
    facts: { ...facts, lastObservation: `OVH status ready; ${dnsOk ? 'DNS record verified' : 'DNS not verified'}.` },
    next: 'none',
    notices: [
      {
        type: 'reply',
        level: 'success',
        mention: true,
        text: `The DKIM keys for ${showRun(run)} are ready: ${dnsOk ? 'OVH sees the record and DNS serves the key' : "OVH says so, though the bot's own DNS look does not agree yet"}. Enabling needs an approval.`,
      },
    ],
    approval: {
      action: 'enable',
      snapshot: { selector: signing!, target, status: dkim.status },
      title: `Enable DKIM signing for ${showRun(run)}?`,
      lines: [
        `Selector: \`${signing}\``,
        `Record: \`${stripDot(dkim.customerRecord ?? '')}\` CNAME \`${absolute(target)}\``,
        `OVH call: \`${call}\``,
        ...(spare ? [`The spare selector \`${spare}\` stays ready for rotation and is not enabled.`] : []),
      ],
    },
  };
}

async function enable(run: Run, facts: Facts, apis: Apis, ctx: StepContext): Promise<StepOutcome> {
  const [signing] = facts.selectors!;
  if (freshlyApproved(facts, ctx)) return sendEnable(run, facts, apis, ctx);
  const dkim = await apis.exchange.dkim(location(facts), run.domain, signing!);
  const asked = facts.enablePostedAt !== undefined || facts.enablingSeen;
  switch (dkim.status) {
    case 'inProduction': {
      const finished = done(
        facts,
        `DKIM is in production for ${showRun(run)}: mail is now signed with \`${signing}\`.`,
      );
      if (asked) return finished;
      const note = `Enabling \`${signing}\` at OVH: the request went through (approved by ${mention(facts.approvedBy ?? '?')}).`;
      return { ...finished, notices: [{ type: 'reply', text: note }, ...(finished.notices ?? [])] };
    }
    case 'enabling': {
      if (asked) return waitFor(run, facts, 'OVH is enabling DKIM (status enabling).');
      // The enable went through but its answer was lost (a crash, a timeout): say so once, never send it again.
      return waitFor(run, { ...facts, enablingSeen: true }, 'OVH is enabling DKIM (status enabling).', [
        {
          type: 'reply',
          text: `Enabling \`${signing}\` at OVH: OVH shows it enabling (approved by ${mention(facts.approvedBy ?? '?')}).`,
        },
      ]);
    }
    case 'ready': {
      // Not taken (no task, status still ready): a first enable, or one whose call never reached OVH.
      const posted = facts.enablePostedAt;
      const takenOrPending =
        Boolean(dkim.taskPendingId) || (posted !== undefined && ctx.now - posted < ENABLE_REPEAT_AFTER_MS);
      if (takenOrPending) return waitFor(run, facts, 'Enable requested; OVH has not started it yet.');
      return sendEnable(run, facts, apis, ctx);
    }
    default:
      return failed(facts, run.state, `The key \`${signing}\` went to status ${dkim.status} at OVH while enabling.`);
  }
}

/** Right after the approval, whose re-check read `ready`, and before any enable was tried. */
function freshlyApproved(facts: Facts, ctx: StepContext): boolean {
  const untried = facts.enableAttemptAt === undefined && facts.enablePostedAt === undefined && !facts.enablingSeen;
  return untried && facts.approvedAt !== undefined && ctx.now - facts.approvedAt < RECHECK_FRESH_MS;
}

/** The one enable. The attempt is written down first: a run found here after a crash reads the status before any other. */
async function sendEnable(run: Run, facts: Facts, { exchange }: Apis, ctx: StepContext): Promise<StepOutcome> {
  const [signing] = facts.selectors!;
  const attempted = { ...facts, enableAttemptAt: ctx.now };
  ctx.checkpoint?.(run.state, attempted);
  const result = await exchange.enable(location(facts), run.domain, signing!);
  if (result === 'refused') return failed(attempted, run.state, `OVH refused to enable \`${signing}\`.`);
  return {
    state: run.state,
    facts: { ...attempted, enablePostedAt: ctx.now, lastObservation: 'Enable requested.' },
    next: 'wait',
    events: [{ type: 'dkim_enable', detail: { selector: signing, result, approvedBy: facts.approvedBy } }],
    notices: [
      {
        type: 'reply',
        text: `Enabling \`${signing}\` at OVH: request sent (approved by ${mention(facts.approvedBy ?? '?')}).`,
      },
    ],
  };
}

function done(facts: Facts, text: string): StepOutcome {
  const spare = facts.selectors?.[1];
  const spareText = spare ? ` The spare selector \`${spare}\` has its key and record, ready for rotation.` : '';
  return {
    state: 'done',
    facts: { ...facts, lastObservation: 'DKIM in production.' },
    next: 'none',
    notices: [{ type: 'reply', level: 'success', mention: true, text: `${text}${spareText}` }],
  };
}
