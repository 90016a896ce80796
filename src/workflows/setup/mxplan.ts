import { absolute, showRun } from '../../domain/names.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Approval, Run } from '../../domain/runs.ts';
import { need } from '../../engine/invariant.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import { type MxPlanDkim, parseMxPlanCname } from '../../providers/ovh-mail.ts';
import { checkCname } from '../common/dns-check.ts';
import { ensureCname, recordsToAdd } from '../common/publish.ts';
import { inGroup, memberReady } from '../group/member.ts';
import { type KeyRecord, mxPlanApi, type SetupFacts, watchOf, zonesOf } from './facts.ts';

/**
 * MX Plan and Zimbra (DESIGN §2.5): one switch per domain. `PUT …/enable` makes the keys and, when OVH can write the
 * zone, turns signing on by itself, so the approval comes before the first call. When OVH cannot write the records
 * (`toConfigure`, `toSet`), the bot publishes them (or hands them over), waits until DNS serves them, and calls
 * enable again under the same approval. A record with a wrong value (`toFix`) is never overwritten.
 */

export interface MxPlanFacts extends SetupFacts {
  mxStatus?: string;
  /** The enable under way: 1 for the first, one more for each sent after DNS served the records. */
  round?: number;
  /** The two records OVH asks for (names and targets without final dots). */
  mxRecords?: KeyRecord[];
  mxPublished?: string[];
  mxCreated?: boolean;
  mxHandedOver?: boolean;
  /** When DNS was seen serving both records: an enable is due, and spends it. */
  recordsVerifiedAt?: number;
  looks?: number;
}

type Facts = MxPlanFacts;

/** Before the approval: where the switch stands. */
export async function check(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = mxPlanApi(ctx, run.domain);
  const dkim = await api.dkim();
  const next = { ...facts, mxStatus: dkim.status };
  switch (dkim.status) {
    case 'enabled':
      return done(
        next,
        `DKIM was already on for ${showRun(run)} (MX Plan), signing with \`${dkim.activeSelector ?? '?'}\`: nothing to enable.`,
        dkim,
        ctx,
      );
    case 'error':
      return supportTicket(run, next);
    case 'modifying':
      return waitFor(run, next, 'OVH is working on the DKIM switch (status modifying); it takes about 10 minutes.');
    default: {
      const wrong = await toFix(run, next, dkim, ctx);
      if (wrong) return wrong;
      if (inGroup(run)) return memberReady(run, next, {}, ctx, 'switching_on');
      return approvalRequest(run, next, dkim, api.path);
    }
  }
}

/** The switch is off: the card is the news, and names the requester. */
function approvalRequest(run: Run, facts: Facts, dkim: MxPlanDkim, path: string): StepOutcome {
  const records = facts.zone
    ? `OVH writes the two CNAME records in the zone *${facts.zone}* itself; should it ask for them instead, the bot writes them and calls enable again.`
    : 'The zone is not at OVH: when OVH asks for the two CNAME records, the bot gives them to you, waits until DNS serves them, and calls enable again (this approval covers it).';
  return {
    state: 'awaiting_approval',
    facts: { ...facts, lastObservation: `DKIM switch ${dkim.status}; an approval turns it on.` },
    next: 'none',
    approval: {
      action: 'enable_mxplan',
      snapshot: { status: dkim.status },
      title: `Turn DKIM signing on for ${showRun(run)} (MX Plan)?`,
      lines: [
        `MX Plan has one DKIM switch per domain, now *${dkim.status}*.`,
        `OVH call: \`PUT ${path}/enable\` — this call creates the keys *and turns signing on*.`,
        records,
      ],
    },
  };
}

export async function recheck(run: Run, _approval: Approval, ctx: StepContext): Promise<string | undefined> {
  const dkim = await mxPlanApi(ctx, run.domain).dkim();
  if (dkim.status !== 'disabled' && dkim.status !== 'toConfigure') {
    return `the DKIM switch is no longer off at OVH (status is now ${dkim.status}).`;
  }
  const wrong = dkim.selectors.filter((s) => s.status === 'toFix').map((s) => s.selectorName);
  if (wrong.length > 0)
    return `OVH now says the record of ${wrong.map((w) => `\`${w}\``).join(', ')} is wrong (toFix).`;
  return undefined;
}

/** The records OVH asks for: written once in an OVH zone of this account (absolute targets), or handed over. */
export async function addRecords(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const records = facts.mxRecords ?? [];
  if (!facts.zone) {
    if (facts.mxHandedOver) return proceed('checking_records', facts);
    return proceed('checking_records', { ...facts, mxHandedOver: true }, [
      {
        type: 'records',
        text: `The DNS zone of ${showRun(run)} is not at OVH. Add these records at your DNS host (both names are absolute: mind the final dots). The bot watches DNS and then asks OVH to turn signing on again.`,
        records: recordsToAdd(records, run.domain),
      },
    ]);
  }
  const zones = zonesOf(ctx);
  const published = [...(facts.mxPublished ?? [])];
  for (const record of records) {
    if (published.includes(record.name)) continue;
    const result = await ensureCname(zones, facts.zone, record.name, record.target);
    if (result.kind === 'conflict') return failed({ ...facts, mxPublished: published }, 'switching_on', result.message);
    if (result.kind === 'present') {
      published.push(record.name);
      continue;
    }
    return {
      state: run.state,
      facts: { ...facts, mxPublished: [...published, record.name], mxCreated: true },
      next: 'now',
      events: [
        { type: 'record_created', detail: { zone: facts.zone, subDomain: result.subDomain, target: result.target } },
      ],
    };
  }
  await zones.refresh(facts.zone);
  const action = facts.mxCreated ? 'published in' : 'already present in';
  return proceed('checking_records', { ...facts, mxPublished: published }, [
    {
      type: 'reply',
      text: `The two CNAME records OVH asks for are ${action} zone *${facts.zone}*, and the zone refreshed.`,
    },
  ]);
}

/** DNS must serve both records before enable is called again. */
export async function checkRecords(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const looks = (facts.looks ?? 0) + 1;
  const checks = [];
  for (const record of facts.mxRecords ?? []) {
    checks.push(await checkCname(ctx.dns, record.name, record.target, { zone: facts.zone, expectDkimKey: true }));
  }
  const wrong = checks.find((check) => !check.ok);
  if (!wrong) {
    return proceed('switching_on', { ...facts, looks, recordsVerifiedAt: ctx.now }, [
      { type: 'reply', text: 'DNS serves both records: asking OVH to turn signing on again.' },
    ]);
  }
  const diagnose = looks > 1 && wrong.observation !== facts.postedDns;
  const notices: Notice[] = diagnose
    ? [{ type: 'reply', level: 'warning', text: `DNS check: ${wrong.observation}` }]
    : [];
  return waitFor(
    run,
    { ...facts, looks, postedDns: diagnose ? wrong.observation : facts.postedDns },
    `DNS: ${wrong.observation}`,
    notices,
  );
}

/** A selector whose record has a wrong value: shown, never overwritten; the run stops until a retry. */
export async function toFix(
  run: Run,
  facts: Facts,
  dkim: MxPlanDkim,
  ctx: StepContext,
): Promise<StepOutcome | undefined> {
  const wrong = dkim.selectors.filter((s) => s.status === 'toFix');
  if (wrong.length === 0) return undefined;
  const lines: string[] = [];
  for (const selector of wrong) {
    const expected = need(parseMxPlanCname(selector.cname), 'a record OVH gave in its documented form');
    const served = await ctx.dns.cname(expected.name);
    const found = served.kind === 'cname' ? absolute(served.target) : 'no CNAME';
    lines.push(`\`${expected.name}.\`: DNS serves \`${found}\`, OVH expects \`${absolute(expected.target)}\``);
  }
  return failed(facts, run.state, `A DKIM record of ${showRun(run)} has a wrong value (OVH status toFix).`, {
    text: `A DKIM record of ${showRun(run)} has a wrong value, and the bot never overwrites a record:\n${lines.join('\n')}`,
    hint: 'Fix the record at your DNS host (or in the OVH zone), then `/dkim retry` looks again.',
  });
}

export function supportTicket(run: Run, facts: Facts): StepOutcome {
  return failed(facts, 'checking', `OVH's DKIM process failed for ${showRun(run)} (status error).`, {
    text: `OVH's DKIM process failed for ${showRun(run)} (status *error*): only OVH can repair it. Open an OVH support ticket naming the domain ${run.domain} (MX Plan, DKIM), and quote this run (#${run.id}).`,
    hint: 'Once OVH support has fixed it, `/dkim retry` looks again.',
  });
}

export function done(facts: Facts, text: string, dkim: MxPlanDkim, ctx: StepContext): StepOutcome {
  const active = dkim.selectors.find((s) => s.selectorName === dkim.activeSelector) ?? dkim.selectors[0];
  const record = active && parseMxPlanCname(active.cname);
  return {
    state: 'done',
    facts: { ...facts, lastObservation: 'DKIM on.' },
    next: 'none',
    notices: [{ type: 'reply', level: 'success', mention: true, text }],
    ...(active && record ? { watch: watchOf(facts, active.selectorName, record, ctx.now) } : {}),
  };
}
