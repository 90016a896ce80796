import { showRun } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { grantHolds } from '../engine/approvals/grants.ts';
import { need } from '../engine/invariant.ts';
import { judge, type Seen, sendOnce } from '../engine/once.ts';
import { failed, proceed, waitFor } from '../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../engine/types.ts';
import type { Dkim } from '../providers/ovh-api.ts';
import { SIGNING, signingNow } from './common/signing.ts';
import { findService } from './setup/discover.ts';
import { keyedApi, mxPlanApi, type SetupFacts } from './setup/facts.ts';

/**
 * `/dkim disable` (DESIGN §2.6): after an approval, the offer's disable call — `POST …/dkim/{active}/disable` on
 * Exchange and Email Pro, `PUT /email/domain/{d}/dkim/disable` on MX Plan — then until OVH shows signing off. Keys
 * and records stay: `/dkim setup` turns it on again. The call is written down before it is sent and never repeated
 * while OVH shows it under way.
 */

interface DisableFacts extends SetupFacts {
  /** Exchange, Email Pro: the selector being turned off now, one of `actives`. */
  active?: string;
  /** Exchange, Email Pro: every selector signing when the card was posted (two during a rotation's grace). */
  actives?: string[];
}

type Facts = DisableFacts;

export const disableWorkflow: Workflow = {
  kind: 'disable',
  firstState: 'preparing',
  waitingStates: ['preparing', 'turning_off'],
  beforeApproval: () => 'preparing',
  afterApproval: () => 'turning_off',
  approvedStates: ['turning_off'],

  async step(run, ctx) {
    const facts = run.facts as Facts;
    if (run.state === 'preparing') return prepare(run, facts, ctx);
    if (run.state === 'turning_off') return turnOff(run, facts, ctx);
    return { state: run.state, facts, next: 'none' };
  },

  /** The card holds while what signs is what it showed. */
  async recheckApproval(run, approval, ctx) {
    const now = await signingNow(run, run.facts as Facts, ctx);
    if (now.length === 0) return 'DKIM is no longer on at OVH.';
    const snapshot = approval.snapshot as { actives?: string[]; active?: string };
    const shown = snapshot.actives ?? [snapshot.active]; // a card posted before `actives` names one
    if (now.join(',') !== shown.join(','))
      return `what signs changed since the card was posted (now ${now.join(', ')}).`;
    return undefined;
  },
};

function offCall(run: Run, facts: Facts, ctx: StepContext): string {
  if (facts.offer === 'mxplan') return `PUT ${mxPlanApi(ctx, run.domain).path}/disable`;
  return `POST ${keyedApi(ctx, facts, run.domain).disablePath(need(facts.active, 'the selector being turned off'))}`;
}

async function prepare(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  if (!facts.offer) {
    const found = await findService(run, facts, ctx);
    if ('outcome' in found) return found.outcome;
    return proceed(run.state, { ...facts, ...found.at, zone: found.zone });
  }
  const signing = await signingNow(run, facts, ctx);
  if (signing.length === 0) return off(facts, `DKIM was not on for ${showRun(run)}: nothing to disable.`);
  const keyed = facts.offer !== 'mxplan';
  const next = { ...facts, active: keyed ? signing[0] : undefined, actives: keyed ? signing : undefined };
  const calls = keyed ? signing.map((active) => offCall(run, { ...next, active }, ctx)) : [offCall(run, next, ctx)];
  const signs = keyed
    ? ` (${signing.map((s) => `\`${s}\``).join(' and ')} sign${signing.length === 1 ? 's' : ''} now)`
    : '';
  return {
    state: 'awaiting_approval',
    facts: { ...next, lastObservation: 'Signing; turning it off needs an approval.' },
    next: 'none',
    approval: {
      action: 'disable',
      snapshot: { actives: signing },
      title: `Turn DKIM signing off for ${showRun(run)}?`,
      lines: [
        `OVH call${calls.length === 1 ? '' : 's, one after the other'}: ${calls.map((c) => `\`${c}\``).join(', ')}${signs}.`,
        'Mail is then sent unsigned. The keys and the DNS records stay: `/dkim setup` turns it on again.',
      ],
    },
  };
}

/** The offer's disable call at most once per selector the card named (engine/once.ts), then until OVH shows it off. */
async function turnOff(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const mxPlan = facts.offer === 'mxplan';
  const active = mxPlan ? 'switch' : need(facts.active, 'the selector being turned off');
  const call = `disable:${active}`;
  const seen = mxPlan
    ? mxPlanSeen((await mxPlanApi(ctx, run.domain).dkim()).status)
    : keyedSeen(await keyedApi(ctx, facts, run.domain).dkimOrNone(active));
  const judged = judge(facts, call, seen.seen, ctx.now);
  const request = `Turning DKIM off: \`${offCall(run, facts, ctx)}\``;
  const notes: Notice[] = judged.wentThrough ? [{ type: 'reply', key: call, text: `${request} went through.` }] : [];
  switch (judged.verdict.act) {
    case 'taken': {
      const after = facts.actives?.slice(facts.actives.indexOf(active) + 1) ?? [];
      const [following] = after;
      // This selector is off; the next one the card named is turned off the same way.
      if (following !== undefined) {
        const how = judged.wentThrough ? 'went through' : 'sent';
        return proceed(run.state, { ...judged.facts, active: following }, [
          { type: 'reply', key: call, text: `${request} ${how}: \`${active}\` no longer signs.` },
        ]);
      }
      const text = `DKIM is off for ${showRun(run)}: mail is sent unsigned. Keys and records stay; \`/dkim setup\` turns it on again.`;
      const finished = off(judged.facts, text);
      return { ...finished, notices: [...notes, ...(finished.notices ?? [])] };
    }
    case 'send': {
      if (!grantHolds(run, ctx.view, ctx.now)) {
        return failed(facts, run.state, 'No valid approval covers turning DKIM off now.', {
          hint: '`/dkim retry` posts a fresh card.',
        });
      }
      const { result, facts: sent } = await sendOnce(ctx, run.state, judged.facts, call, () =>
        mxPlan ? mxPlanApi(ctx, run.domain).disable() : keyedApi(ctx, facts, run.domain).disable(active),
      );
      return {
        state: run.state,
        facts: sent,
        next: 'wait',
        events: [{ type: 'dkim_disable', detail: { offer: facts.offer, selector: facts.active, result } }],
        notices: [{ type: 'reply', key: call, text: `${request} sent.` }],
      };
    }
    default: {
      const observation = seen.status
        ? `OVH is turning DKIM off (status ${seen.status}).`
        : 'Disable requested; OVH has not started it yet.';
      return waitFor(run, judged.facts, observation, notes);
    }
  }
}

/** What OVH shows of a selector's disable; `status` when it is at work. */
function keyedSeen(key: Dkim | undefined): { seen: Seen; status?: string } {
  if (!key) return { seen: 'taken' };
  if (key.status === 'disabling') return { seen: 'under_way', status: key.status };
  if (SIGNING.includes(key.status)) return { seen: key.taskPendingId ? 'under_way' : 'not_taken' };
  return { seen: 'taken' };
}

/** What OVH shows of MX Plan's switch being turned off. */
function mxPlanSeen(status: string): { seen: Seen; status?: string } {
  if (status === 'modifying') return { seen: 'under_way', status };
  return { seen: status === 'enabled' ? 'not_taken' : 'taken' };
}

function off(facts: Facts, text: string): StepOutcome {
  return {
    state: 'done',
    facts: { ...facts, lastObservation: 'DKIM off.' },
    next: 'none',
    watch: null,
    notices: [{ type: 'reply', level: 'success', mention: true, text }],
  };
}
