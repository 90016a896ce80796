import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Operations } from '../../operations.ts';
import type { Deliveries } from '../deliveries.ts';
import { APPROVE_ACTION, REJECT_ACTION } from '../views/blocks.ts';

/**
 * Approve / Reject on an approval card. Ack first; the decision (a status re-check at OVH, then a compare-and-set)
 * comes after. The card itself is updated by the notifier; a refusal is told to the clicker alone. A click delivered
 * twice is decided once and answered once.
 */
export function register(app: App, ops: Operations, log: Logger, deliveries: Deliveries): void {
  for (const [actionId, decision] of [
    [APPROVE_ACTION, 'approved'],
    [REJECT_ACTION, 'rejected'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const approvalId = Number(action.value);
      if (!Number.isInteger(approvalId)) return;
      const click = `click:${body.trigger_id}:${action.action_ts}`;
      const { value: reply, first } = await deliveries.once(click, () =>
        ops.decide(approvalId, body.user.id, decision),
      );
      if (reply.ok || !first) return;
      try {
        await respond({ response_type: 'ephemeral', replace_original: false, text: reply.text });
      } catch (error) {
        log.warn('could not tell the clicker why', { error: (error as Error).message });
      }
    });
  }
}
