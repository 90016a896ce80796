import { showRun } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { when, words } from '../domain/text.ts';
import { need } from '../engine/invariant.ts';
import { failed, proceed } from '../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../engine/types.ts';
import { ProviderError } from '../providers/errors.ts';
import { ZoneApi } from '../providers/ovh-api.ts';
import { parseDkimKeys, type SesRecord } from '../providers/vtex.ts';
import { checkCname } from './common/dns-check.ts';
import { ensureCname, recordsToAdd } from './common/publish.ts';

/** VTEX transactional mail / Amazon SES DKIM (DESIGN §2.2): keys fetched, three CNAMEs published and verified. */

export interface VtexParams {
  sender: string;
}

export interface VtexFacts {
  /** The last status VTEX answered, to post guidance once per change. */
  vtexStatus?: string;
  /** The first keys VTEX created: kept, never asked for again. */
  records?: SesRecord[];
  /** When VTEX first answered `created`: SES looks for the records for 72 hours from then, and stops. */
  createdAt?: number;
  /** The OVH zone of the domain; null when elsewhere or when OVH is not configured. */
  zone?: string | null;
  published?: string[];
  recordsHandedOver?: boolean;
  verifiedLooks?: number;
  postedDns?: string;
  lastObservation?: string;
  [key: string]: unknown;
}

type Facts = VtexFacts;

const GUIDANCE: Record<'emailNotFound' | 'emailNotVerified', string> = {
  emailNotFound:
    'VTEX has no sender {sender} yet. In the VTEX Admin, open *Message Center → Settings → Senders*, add {sender} and choose VTEX mail servers; Amazon then emails that address a confirmation link. The bot keeps checking.',
  emailNotVerified:
    'The sender {sender} exists but is not verified: someone must click the confirmation link Amazon Web Services sent to {sender} (check its spam folder). The bot keeps checking.',
};

export const vtexWorkflow: Workflow = {
  kind: 'vtex',
  firstState: 'requesting_keys',
  waitingStates: ['requesting_keys', 'publishing', 'verifying'],
  beforeApproval: () => 'verifying',
  afterApproval: () => 'verifying',
  approvedStates: [],

  async step(run, ctx) {
    const facts = run.facts as Facts;
    switch (run.state) {
      case 'requesting_keys':
        return requestKeys(run, facts, ctx);
      case 'publishing':
        return publish(run, facts, ctx);
      case 'verifying':
        return verify(run, facts, ctx);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  async recheckApproval() {
    return 'VTEX runs need no approval.';
  },
};

/** How long Amazon SES looks for the three records after the keys were made, before it gives up (FAILED). */
export const SES_WINDOW_MS = 72 * 3_600_000;

/**
 * Past SES's 72 hours from the keys' creation (the first `created`, kept), SES no longer looks: the records resolving
 * now would not make it sign, so the run says so instead of reporting success (a retry, days later, included).
 */
function windowOver(run: Run, facts: Facts, ctx: StepContext): StepOutcome | undefined {
  // Runs from before the time was kept have none: their window is not known, and not guessed.
  const createdAt = facts.createdAt;
  if (createdAt === undefined || ctx.now - createdAt < SES_WINDOW_MS) return undefined;
  const sender = (run.params as unknown as VtexParams).sender;
  return failed(
    facts,
    run.state,
    `Amazon SES stopped looking for the records of ${showRun(run)}: 72 hours passed since VTEX made the keys.`,
    {
      text: words`Amazon SES looks for the three records for 72 hours after VTEX made the keys (${when(createdAt)}), then stops: its status for \`${sender}\` is now FAILED, and the records resolving would not make it sign.`,
      hint: `Start again with \`/dkim vtex ${run.domain} ${sender}\` so that VTEX (and SES) look again; the bot says what VTEX answers.`,
    },
  );
}

async function requestKeys(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  if (!ctx.vtex) throw new ProviderError('vtex', 'terminal', 'VTEX is not configured on this bot.');
  const { sender } = run.params as unknown as VtexParams;
  const answer = await ctx.vtex.dkim(sender);
  if (answer.status !== 'created') {
    const changed = answer.status !== facts.vtexStatus;
    const notices: Notice[] = changed
      ? [{ type: 'reply', level: 'warning', text: GUIDANCE[answer.status].replaceAll('{sender}', `\`${sender}\``) }]
      : [];
    const observation = `VTEX says ${answer.status} for ${sender}.`;
    return {
      state: run.state,
      facts: { ...facts, vtexStatus: answer.status, lastObservation: observation },
      next: 'wait',
      notices,
    };
  }
  const parsed = parseDkimKeys(answer.dkimKeys, run.domain);
  if (!parsed.ok) {
    return failed({ ...facts, vtexStatus: answer.status }, run.state, parsed.error, {
      text: `${parsed.error}. Nothing was published.`,
      hint: 'Check the sender in VTEX Message Center, then `/dkim retry`.',
    });
  }
  const created = {
    ...facts,
    vtexStatus: answer.status,
    records: parsed.records,
    createdAt: facts.createdAt ?? ctx.now,
  };
  return proceed('publishing', created, [
    {
      type: 'reply',
      text: `VTEX created the Amazon SES keys for \`${sender}\`: three CNAME records to publish.`,
    },
  ]);
}

async function publish(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const over = windowOver(run, facts, ctx);
  if (over) return over;
  const records = need(facts.records, 'the SES records');
  const zones = ctx.ovh ? new ZoneApi(ctx.ovh, ctx.shared) : undefined;
  const zone = facts.zone !== undefined ? facts.zone : zones ? await zones.zoneOf(run.domain, run.id) : null;
  if (!zone || !zones) {
    if (facts.recordsHandedOver) return proceed('verifying', { ...facts, zone });
    return proceed('verifying', { ...facts, zone, recordsHandedOver: true }, [
      {
        type: 'records',
        text: `The DNS zone of ${showRun(run)} is not at OVH${ctx.ovh ? '' : ' (or OVH is not configured)'}. Add these three records at your DNS host; the bot watches DNS and carries on by itself.`,
        records: recordsToAdd(records, run.domain),
      },
    ]);
  }
  const published = [...(facts.published ?? [])];
  for (const record of records) {
    if (published.includes(record.name)) continue;
    const result = await ensureCname(zones, zone, record.name, record.target);
    if (result.kind === 'conflict') {
      return failed({ ...facts, zone, published }, run.state, result.message);
    }
    published.push(record.name);
    if (result.kind === 'created') {
      return {
        state: run.state,
        facts: { ...facts, zone, published },
        next: 'now',
        events: [{ type: 'record_created', detail: { zone, subDomain: result.subDomain, target: result.target } }],
      };
    }
  }
  // One refresh, always: a record created by a call whose answer was lost is applied too.
  await zones.refresh(zone);
  return proceed('verifying', { ...facts, zone, published }, [
    { type: 'reply', text: `The three CNAME records are in zone *${zone}* and the zone was refreshed.` },
  ]);
}

async function verify(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const looks = (facts.verifiedLooks ?? 0) + 1;
  const checks = await Promise.all(
    need(facts.records, 'the SES records').map((r) =>
      checkCname(ctx.dns, r.name, r.target, { zone: facts.zone, expectDkimKey: false }),
    ),
  );
  const wrong = checks.filter((c) => !c.ok);
  const over = windowOver(run, facts, ctx);
  if (over) return over;
  if (wrong.length === 0) {
    return {
      state: 'done',
      facts: { ...facts, verifiedLooks: looks, lastObservation: 'All three records resolve to Amazon SES.' },
      next: 'none',
      notices: [
        {
          type: 'reply',
          level: 'success',
          mention: true,
          text: `All three SES records of ${showRun(run)} resolve to their targets. Amazon SES looks for them and starts signing mail from \`${(run.params as unknown as VtexParams).sender}\` within 72 hours.`,
        },
      ],
    };
  }
  const observation = wrong.map((c) => c.observation).join(' ');
  const diagnose = looks > 1 && observation !== facts.postedDns;
  return {
    state: run.state,
    facts: {
      ...facts,
      verifiedLooks: looks,
      lastObservation: observation,
      postedDns: diagnose ? observation : facts.postedDns,
    },
    next: 'wait',
    notices: diagnose ? [{ type: 'reply', level: 'warning', text: `DNS check: ${observation}` }] : [],
  };
}
