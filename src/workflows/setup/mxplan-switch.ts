import { showRun } from '../../domain/names.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Run } from '../../domain/runs.ts';
import { person, words } from '../../domain/text.ts';
import { approverOf, freshlyGranted, grantHolds } from '../../engine/approvals/grants.ts';
import { judge, type Seen, sendOnce } from '../../engine/once.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import { type MxPlanDkim, parseMxPlanCname } from '../../providers/ovh-mail.ts';
import { inGroup } from '../group/member.ts';
import { mxPlanApi } from './facts.ts';
import { done, type MxPlanFacts, supportTicket, toFix } from './mxplan.ts';

/**
 * MX Plan's switch turned on under its approval (DESIGN §2.5): `PUT …/enable` at most once per round (engine/once.ts).
 * The first round makes the keys, and turns signing on when OVH can write the records; when it cannot, the records
 * are published, and once DNS serves them a new round's enable is sent, under the same approval, up to MAX_ENABLES.
 */

type Facts = MxPlanFacts;

/** Enables one approval covers: the first, and the ones after the records were published, before a person looks. */
const MAX_ENABLES = 3;

const callOf = (round: number) => `enable:${round}`;

export async function switchOn(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const round = facts.round ?? 1;
  // Right after an approval whose card read the switch off, with no key yet: the first enable, without reading again.
  if (round === 1 && facts.mxStatus === 'disabled' && freshlyGranted(facts, callOf(1), ctx.now)) {
    return send(run, facts, ctx, 1);
  }
  const api = mxPlanApi(ctx, run.domain);
  const dkim = await api.dkim();
  const judged = judge({ ...facts, mxStatus: dkim.status }, callOf(round), seenOf(dkim, round), ctx.now);
  const next = judged.facts;
  const notes: Notice[] = judged.wentThrough
    ? [
        {
          type: 'reply',
          key: callOf(round),
          text: words`Turning DKIM on at OVH: \`PUT ${api.path}/enable\` went through (approved by ${person(approverOf(facts))}).`,
        },
      ]
    : [];
  if (dkim.status === 'error') return supportTicket(run, next);
  if (dkim.status === 'enabled') {
    const text = `DKIM is on for ${showRun(run)} (MX Plan): mail is now signed with \`${dkim.activeSelector ?? '?'}\`.`;
    const finished = done(next, text, dkim, ctx);
    return { ...finished, notices: [...notes, ...(finished.notices ?? [])] };
  }
  if (dkim.status === 'modifying') {
    return waitFor(run, next, 'OVH is turning DKIM on (status modifying); it takes about 10 minutes.', notes);
  }
  const wrong = await toFix(run, next, dkim, ctx);
  if (wrong) return wrong;
  // DNS served both records since the last enable: the enable they wait for, a new round.
  if (next.recordsVerifiedAt !== undefined) return nextRound(run, next, ctx, dkim);
  switch (judged.verdict.act) {
    case 'taken':
      return recordsNeeded(run, next, dkim, notes);
    case 'send':
      // The first enable never reached OVH, or OVH dropped it: sent again. A later one OVH still did not take: the
      // records are looked at again, and a new round follows once DNS serves them.
      if (round === 1) return send(run, next, ctx, 1);
      return proceed('adding_records', next, [
        {
          type: 'reply',
          text: `OVH still shows the switch ${dkim.status} and asks for the records: looking at them again.`,
        },
      ]);
    default:
      return waitFor(run, next, `Enable sent; OVH shows the switch ${dkim.status} and has not taken it yet.`, notes);
  }
}

/** What OVH shows of a round's enable: on, at work, keys made (the first round's effect), or as before. */
function seenOf(dkim: MxPlanDkim, round: number): Seen {
  if (dkim.status === 'enabled') return 'taken';
  if (dkim.status === 'modifying') return 'under_way';
  if (round === 1 && (dkim.status === 'toConfigure' || dkim.selectors.length > 0)) return 'taken';
  return 'not_taken';
}

/** OVH made the keys but could not write the records: they must be published (or handed over). */
function recordsNeeded(run: Run, facts: Facts, dkim: MxPlanDkim, notes: Notice[]): StepOutcome {
  const records = dkim.selectors.map((s) => parseMxPlanCname(s.cname)).filter((r) => r !== undefined);
  if (records.length === 0) return waitFor(run, facts, `OVH shows the switch ${dkim.status}, no key yet.`, notes);
  return proceed('adding_records', { ...facts, mxRecords: records, mxPublished: [], recordsVerifiedAt: undefined }, [
    ...notes,
    {
      type: 'reply',
      text: `OVH made the keys but could not write the records (status ${dkim.status}): they must be published.`,
    },
  ]);
}

function nextRound(run: Run, facts: Facts, ctx: StepContext, dkim: MxPlanDkim): StepOutcome | Promise<StepOutcome> {
  const sent = Object.values(facts.calls ?? {}).reduce((sum, call) => sum + call.sent, 0);
  if (sent >= MAX_ENABLES) return notTaken(run, facts, dkim, sent);
  return send(run, { ...facts, recordsVerifiedAt: undefined }, ctx, (facts.round ?? 1) + 1);
}

/** OVH kept asking for records DNS serves, through every enable this approval covers: a person looks. */
function notTaken(run: Run, facts: Facts, dkim: MxPlanDkim, sent: number): StepOutcome {
  const selectors = dkim.selectors.map((s) => `\`${s.selectorName}\` ${s.status}`).join(', ');
  return failed(
    facts,
    run.state,
    `OVH did not turn DKIM on after ${sent} enables, though DNS serves both records: the switch is ${dkim.status}${selectors ? ` (${selectors})` : ''}.`,
    {
      hint: 'Check the records in the OVH Control Panel (or ask OVH support), then `/dkim retry` asks for a fresh approval.',
    },
  );
}

/** One `PUT …/enable`, at most once, under the run's grant. */
async function send(run: Run, facts: Facts, ctx: StepContext, round: number): Promise<StepOutcome> {
  if (!grantHolds(run, ctx.view, ctx.now)) {
    if (inGroup(run)) return proceed('checking', { ...facts, grant: undefined });
    return failed(facts, run.state, `No valid approval covers turning DKIM on for ${showRun(run)} now.`, {
      hint: '`/dkim retry` posts a fresh card.',
    });
  }
  const api = mxPlanApi(ctx, run.domain);
  const { result, facts: sent } = await sendOnce(ctx, run.state, { ...facts, round }, callOf(round), () =>
    api.enable(),
  );
  const what = round > 1 ? 'again, now that DNS serves both records' : 'request sent';
  return {
    state: run.state,
    facts: { ...sent, lastObservation: 'Enable requested.' },
    next: 'wait',
    events: [{ type: 'dkim_enable', detail: { offer: 'mxplan', result, approvedBy: approverOf(facts) } }],
    notices: [
      {
        type: 'reply',
        key: callOf(round),
        text: words`Turning DKIM on at OVH: \`PUT ${api.path}/enable\` ${what} (approved by ${person(approverOf(facts))}).`,
      },
    ],
  };
}
