import { showRun } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { proceed, waitFor } from '../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../engine/types.ts';
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
  /** Exchange, Email Pro: every selector in production when the card was posted (two during a rotation's grace). */
  actives?: string[];
  disableAttemptAt?: number;
  disablePostedAt?: number;
}

type Facts = DisableFacts;

const REPEAT_AFTER_MS = 15 * 60_000;

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

/** The selectors (Exchange, Email Pro) or `switch` (MX Plan) that sign now, in OVH's order. */
async function signingNow(run: Run, facts: Facts, ctx: StepContext): Promise<string[]> {
  if (facts.offer === 'mxplan') {
    return (await mxPlanApi(ctx, run.domain).dkim()).status === 'enabled' ? ['switch'] : [];
  }
  const api = keyedApi(ctx, facts, run.domain);
  const signing: string[] = [];
  for (const selector of await api.existing()) {
    if ((await api.dkim(selector)).status === 'inProduction') signing.push(selector);
  }
  return signing;
}

function offCall(run: Run, facts: Facts, ctx: StepContext): string {
  if (facts.offer === 'mxplan') return `PUT ${mxPlanApi(ctx, run.domain).path}/disable`;
  return `POST ${keyedApi(ctx, facts, run.domain).disablePath(facts.active!)}`;
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

async function turnOff(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const key = facts.offer === 'mxplan' ? undefined : await keyedApi(ctx, facts, run.domain).dkimOrNone(facts.active!);
  const status = facts.offer === 'mxplan' ? (await mxPlanApi(ctx, run.domain).dkim()).status : key?.status;
  const under = status === 'disabling' || status === 'modifying';
  const on = status === 'inProduction' || status === 'enabling' || status === 'enabled';
  // A disable whose answer was lost (a crash, a timeout) shows as OVH at work or done: said once, never sent again.
  const lost = facts.disableAttemptAt !== undefined && facts.disablePostedAt === undefined && (under || !on);
  const said: Notice[] = lost
    ? [{ type: 'reply', text: `Turning DKIM off: \`${offCall(run, facts, ctx)}\` went through.` }]
    : [];
  const seen = lost ? { ...facts, disablePostedAt: facts.disableAttemptAt } : facts;
  if (under) return waitFor(run, seen, `OVH is turning DKIM off (status ${status}).`, said);
  const after = facts.actives?.slice(facts.actives.indexOf(facts.active!) + 1) ?? [];
  if (!on && after.length > 0) {
    // This selector is off; the next one the card named is turned off the same way.
    const next = { ...seen, active: after[0], disableAttemptAt: undefined, disablePostedAt: undefined };
    return proceed(run.state, next, [...said, { type: 'reply', text: `\`${facts.active}\` no longer signs.` }]);
  }
  if (!on) {
    const text = `DKIM is off for ${showRun(run)}: mail is sent unsigned. Keys and records stay; \`/dkim setup\` turns it on again.`;
    const finished = off(seen, text);
    return { ...finished, notices: [...said, ...(finished.notices ?? [])] };
  }
  // Still on: a first call, or one that never reached OVH (no task pending), or one OVH dropped long ago.
  const pending = Boolean(key?.taskPendingId);
  const recent = facts.disableAttemptAt !== undefined && ctx.now - facts.disableAttemptAt < REPEAT_AFTER_MS;
  if (pending || (recent && facts.disablePostedAt !== undefined)) {
    return waitFor(run, facts, 'Disable requested; OVH has not started it yet.');
  }
  const attempted = { ...facts, disableAttemptAt: ctx.now };
  ctx.checkpoint?.(run.state, attempted);
  const result =
    facts.offer === 'mxplan'
      ? await mxPlanApi(ctx, run.domain).disable()
      : await keyedApi(ctx, facts, run.domain).disable(facts.active!);
  return {
    state: run.state,
    facts: { ...attempted, disablePostedAt: ctx.now },
    next: 'wait',
    events: [{ type: 'dkim_disable', detail: { offer: facts.offer, selector: facts.active, result } }],
    notices: [{ type: 'reply', text: `Turning DKIM off: \`${offCall(run, facts, ctx)}\` sent.` }],
  };
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
