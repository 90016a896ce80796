import type { BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { words } from '../../../domain/text.ts';
import { threadLink } from '../../render/text.ts';
import type { ListenerDeps } from '../index.ts';
import { tellClicker } from './reply.ts';

/**
 * The buttons of a finished scan: **Set up** starts one setup on the service the scan found; **Set up all** starts
 * one per domain needing it, as a group. Ack first; the answer goes to the clicker alone. A click delivered twice is
 * taken once.
 */

type ClickArgs = Pick<SlackActionMiddlewareArgs<BlockButtonAction>, 'ack' | 'body' | 'action' | 'respond'>;

export function scanSetupClicked({ ops, log, deliveries }: ListenerDeps) {
  return async ({ ack, body, action, respond }: ClickArgs): Promise<void> => {
    await ack();
    const [, domain = '', service = ''] = (action.value ?? '').split('|');
    const channel = body.channel?.id ?? null;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () =>
      ops.setup({ domain, service, user: body.user.id, channel }),
    );
    if (first) await tellClicker(respond, words`${reply.text} ${reply.run ? threadLink(reply.run) : ''}`, log);
  };
}

export function setupAllClicked({ ops, log, deliveries }: ListenerDeps) {
  return async ({ ack, body, action, respond }: ClickArgs): Promise<void> => {
    await ack();
    const scanRunId = Number(action.value);
    if (!Number.isInteger(scanRunId)) return;
    const channel = body.channel?.id ?? null;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () =>
      ops.fleet.setupAll(scanRunId, body.user.id, channel),
    );
    if (first) await tellClicker(respond, words`${reply.text} ${reply.run ? threadLink(reply.run) : ''}`, log);
  };
}
