import { stripDot } from '../../domain/names.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Run } from '../../domain/runs.ts';
import { person, words } from '../../domain/text.ts';
import { approverOf, freshlyGranted, type GrantFacts, grantHolds } from '../../engine/approvals/grants.ts';
import { judge, type Seen, sendOnce } from '../../engine/once.ts';
import { failed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import type { Dkim } from '../../providers/ovh-api.ts';
import type { KeyedDkimApi } from '../../providers/ovh-mail.ts';

/**
 * One selector's enable on Exchange or Email Pro (`POST …/dkim/{selector}/enable`), for a setup and for a rotation:
 * at most once (engine/once.ts), and only under the run's grant for the very key its card showed. Right after the
 * decision, whose re-check read `ready`, the call is sent at once; later OVH is read first.
 */

export interface KeyToEnable {
  keyed: KeyedDkimApi;
  selector: string;
  /** OVH shows the key in production: the run's next outcome. */
  inProduction(facts: GrantFacts): StepOutcome;
  /**
   * The key is not what the card showed (no longer ready, made again with another target) and nothing was sent: where
   * the run goes instead. Without it, the run fails and `/dkim retry` asks for a fresh card.
   */
  notAsApproved?(facts: GrantFacts, why: string): StepOutcome;
}

export function enableKey(selector: string): string {
  return `enable:${selector}`;
}

export async function enableUnderGrant<F extends GrantFacts>(
  run: Run,
  facts: F,
  ctx: StepContext,
  key: KeyToEnable,
): Promise<StepOutcome> {
  const call = enableKey(key.selector);
  if (freshlyGranted(facts, call, ctx.now) && grantHolds(run, ctx.view, ctx.now)) return send(run, facts, ctx, key);
  const dkim = await key.keyed.dkim(key.selector);
  const seen = seenOf(dkim);
  const notAsApproved = (why: string) => {
    const words = `The key \`${key.selector}\` ${why}, so it was not enabled.`;
    return (
      key.notAsApproved?.(facts, why) ?? failed(facts, run.state, words, { hint: '`/dkim retry` posts a fresh card.' })
    );
  };
  if (seen === 'off') {
    if (facts.calls?.[call] === undefined) return notAsApproved(`is no longer ready at OVH (status ${dkim.status})`);
    return failed(facts, run.state, `The key \`${key.selector}\` went to status ${dkim.status} at OVH while enabling.`);
  }
  const judged = judge(facts, call, seen, ctx.now);
  const by = person(approverOf(facts));
  const notes: Notice[] = judged.wentThrough
    ? [
        {
          type: 'reply',
          key: call,
          text: words`Enabling \`${key.selector}\` at OVH: the request went through (approved by ${by}).`,
        },
      ]
    : [];
  switch (judged.verdict.act) {
    case 'taken': {
      const finished = key.inProduction(judged.facts);
      const untouched = facts.calls?.[call] === undefined;
      const how = judged.wentThrough ? 'the request went through' : 'request sent';
      const note: Notice[] = untouched
        ? [{ type: 'reply', text: `OVH already shows \`${key.selector}\` in production: nothing was sent.` }]
        : [
            {
              type: 'reply',
              key: call,
              text: words`Enabling \`${key.selector}\` at OVH: ${how} (approved by ${by}); OVH took it.`,
            },
          ];
      return { ...finished, notices: [...note, ...(finished.notices ?? [])] };
    }
    case 'send': {
      const target = (facts.grant?.covers as { target?: string } | undefined)?.target;
      if (!grantHolds(run, ctx.view, ctx.now)) return notAsApproved('is ready, but no valid approval covers it now');
      if (target !== undefined && stripDot(dkim.targetRecord ?? '') !== stripDot(target)) {
        return notAsApproved(`now points to \`${dkim.targetRecord}\`, not the record the card showed`);
      }
      return send(run, judged.facts, ctx, key);
    }
    default: {
      const observation =
        seen === 'under_way' && dkim.status === 'enabling'
          ? 'OVH is enabling DKIM (status enabling).'
          : 'Enable requested; OVH has not started it yet.';
      return waitFor(run, judged.facts, observation, notes);
    }
  }
}

/** What OVH shows of an enable: in production (taken), on its way, not taken, or a key that is not ready at all. */
function seenOf(dkim: Dkim): Seen | 'off' {
  switch (dkim.status) {
    case 'inProduction':
      return 'taken';
    case 'enabling':
      return 'under_way';
    case 'ready':
      return dkim.taskPendingId ? 'under_way' : 'not_taken';
    default:
      return 'off';
  }
}

async function send(run: Run, facts: GrantFacts, ctx: StepContext, key: KeyToEnable): Promise<StepOutcome> {
  const { result, facts: sent } = await sendOnce(ctx, run.state, facts, enableKey(key.selector), () =>
    key.keyed.enable(key.selector),
  );
  if (result === 'refused') return failed(sent, run.state, `OVH refused to enable \`${key.selector}\`.`);
  const by = approverOf(facts);
  return {
    state: run.state,
    facts: { ...sent, lastObservation: 'Enable requested.' },
    next: 'wait',
    events: [{ type: 'dkim_enable', detail: { selector: key.selector, result, approvedBy: by } }],
    notices: [
      {
        type: 'reply',
        key: enableKey(key.selector),
        text: words`Enabling \`${key.selector}\` at OVH: request sent (approved by ${person(by)}).`,
      },
    ],
  };
}
