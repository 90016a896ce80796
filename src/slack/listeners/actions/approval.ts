import type { BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';
import { tellClicker } from './reply.ts';

type ClickArgs = Pick<SlackActionMiddlewareArgs<BlockButtonAction>, 'ack' | 'body' | 'action' | 'respond'>;

/**
 * Approve / Reject on an approval card. Ack first; the decision (a re-check at the provider, then a compare-and-set)
 * comes after. The card itself is updated by the notifier; a refusal is told to the clicker alone. A click delivered
 * twice is decided once and answered once.
 */
export function decisionClicked({ ops, log, deliveries }: ListenerDeps, decision: 'approved' | 'rejected') {
  return async ({ ack, body, action, respond }: ClickArgs): Promise<void> => {
    await ack();
    const approvalId = Number(action.value);
    if (!Number.isInteger(approvalId)) return;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () => ops.decide(approvalId, body.user.id, decision));
    if (reply.ok || !first) return;
    await tellClicker(respond, reply.text, log);
  };
}
