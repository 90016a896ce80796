import type { Run } from '../../domain/runs.ts';
import type { Workflow } from '../../engine/types.ts';
import { followGroup } from '../group/member.ts';
import { chosen, discover } from './discover.ts';
import { createKeys, enable, publish, recheckKeyed, waitForReady } from './exchange-pro.ts';
import type { SetupFacts } from './facts.ts';
import { addRecords, check, checkRecords, recheck as recheckMxPlan } from './mxplan.ts';
import { switchOn } from './mxplan-switch.ts';

/**
 * `/dkim setup`: DKIM on whichever OVH mail offer hosts the domain (DESIGN §2.1, §2.4, §2.5), as reconcile steps,
 * one `switch` over the stored state. Discovery finds the offer; Exchange and Email Pro share one flow (keys per
 * selector, approval once the key is ready), MX Plan and Zimbra another (one switch, approval before it is touched).
 */

const isMxPlan = (run: Run) => (run.facts as SetupFacts).offer === 'mxplan';

export const setupWorkflow: Workflow = {
  kind: 'setup',
  firstState: 'discovering',
  waitingStates: [
    'discovering',
    'creating_keys',
    'publishing',
    'waiting_ready',
    'enabling',
    'checking',
    'switching_on',
    'adding_records',
    'checking_records',
  ],
  beforeApproval: (run) => (isMxPlan(run) ? 'checking' : 'waiting_ready'),
  afterApproval: (run) => (isMxPlan(run) ? 'switching_on' : 'enabling'),
  approvedStates: ['enabling', 'switching_on', 'adding_records', 'checking_records'],

  async step(run, ctx) {
    const facts = run.facts as SetupFacts;
    switch (run.state) {
      case 'discovering':
        return discover(run, facts, ctx);
      case 'creating_keys':
        return createKeys(run, facts, ctx);
      case 'publishing':
        return publish(run, facts, ctx);
      case 'waiting_ready':
        return waitForReady(run, facts, ctx);
      case 'enabling':
        return enable(run, facts, ctx);
      case 'checking':
        return check(run, facts, ctx);
      case 'switching_on':
        return switchOn(run, facts, ctx);
      case 'adding_records':
        return addRecords(run, facts, ctx);
      case 'checking_records':
        return checkRecords(run, facts, ctx);
      case 'awaiting_group':
        return followGroup(run, ctx.view, ctx.now, setupWorkflow.afterApproval(run));
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  freshLook(facts) {
    return {
      ...facts,
      lastStatusAt: undefined,
      statusChecks: undefined,
      waitingSince: undefined,
      round: undefined,
      recordsVerifiedAt: undefined,
    };
  },

  answer(run, key, value) {
    const at =
      run.state === 'choosing' && key === `service:${run.id}` ? chosen(run.facts as SetupFacts, value) : undefined;
    if (!at)
      return {
        refusal:
          run.state === 'choosing' ? `${value} is not one of the choices.` : 'This question was already answered.',
      };
    return { state: 'discovering', facts: { ...run.facts, chosen: at } };
  },

  recheckApproval(run, approval, ctx) {
    return isMxPlan(run) ? recheckMxPlan(run, approval, ctx) : recheckKeyed(run, approval, ctx);
  },
};
