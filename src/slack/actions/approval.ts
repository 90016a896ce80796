import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Operations } from '../../operations.ts';
import { APPROVE_ACTION, REJECT_ACTION } from '../views/blocks.ts';

/**
 * Approve / Reject on an approval card. Ack first; the decision (a status re-check at OVH, then a compare-and-set)
 * comes after. The card itself is updated by the notifier; a refusal is told to the clicker alone.
 */
export function register(app: App, ops: Operations, log: Logger): void {
  for (const [actionId, decision] of [
    [APPROVE_ACTION, 'approved'],
    [REJECT_ACTION, 'rejected'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const approvalId = Number(action.value);
      if (!Number.isInteger(approvalId)) return;
      const reply = await ops.decide(approvalId, body.user.id, decision);
      if (reply.ok) return;
      try {
        await respond({ response_type: 'ephemeral', replace_original: false, text: reply.text });
      } catch (error) {
        log.warn('could not tell the clicker why', { error: (error as Error).message });
      }
    });
  }
}
