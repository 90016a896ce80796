import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Operations } from '../../operations.ts';
import type { Deliveries } from '../deliveries.ts';
import { CHOOSE_ACTION } from '../views/blocks.ts';

/**
 * An answer to a run's question (which service hosts the domain): ack first, then the answer, taken from the
 * requester or an approver only; a refusal is told to the clicker alone. A click delivered twice is taken once.
 */
export function register(app: App, ops: Operations, log: Logger, deliveries: Deliveries): void {
  app.action<BlockButtonAction>(new RegExp(`^${CHOOSE_ACTION}_\\d+$`), async ({ ack, body, action, respond }) => {
    await ack();
    const [key = '', value = ''] = (action.value ?? '').split('|');
    const runId = Number(/^service:(\d+)$/.exec(key)?.[1]);
    if (!Number.isInteger(runId) || !value) return;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () => ops.answer(runId, key, value, body.user.id));
    if (reply.ok || !first) return;
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, text: reply.text });
    } catch (error) {
      log.warn('could not tell the clicker why', { error: (error as Error).message });
    }
  });
}
