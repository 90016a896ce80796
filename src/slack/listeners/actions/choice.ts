import type { BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';
import { tellClicker } from './reply.ts';

type ClickArgs = Pick<SlackActionMiddlewareArgs<BlockButtonAction>, 'ack' | 'body' | 'action' | 'respond'>;

/**
 * An answer to a run's question (which service hosts the domain): ack first, then the answer, taken from the
 * requester or an approver only; a refusal is told to the clicker alone. A click delivered twice is taken once.
 */
export function choiceClicked({ ops, log, deliveries }: ListenerDeps) {
  return async ({ ack, body, action, respond }: ClickArgs): Promise<void> => {
    await ack();
    const [key = '', value = ''] = (action.value ?? '').split('|');
    const runId = Number(/^service:(\d+)$/.exec(key)?.[1]);
    if (!Number.isInteger(runId) || !value) return;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () => ops.answer(runId, key, value, body.user.id));
    if (reply.ok || !first) return;
    await tellClicker(respond, reply.text, log);
  };
}
