import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Operations, Reply } from '../../operations.ts';
import { threadLink } from '../commands/dkim.ts';
import type { Deliveries } from '../deliveries.ts';
import { SCAN_SETUP_ACTION, SETUP_ALL_ACTION } from '../views/scan.ts';

/**
 * The buttons of a finished scan: **Set up** starts one setup on the service the scan found; **Set up all** starts
 * one per domain needing it, as a group. Ack first; the answer goes to the clicker alone. A click delivered twice is
 * taken once.
 */
export function register(app: App, ops: Operations, log: Logger, deliveries: Deliveries): void {
  const answer = async (respond: (message: object) => Promise<unknown>, reply: Reply) => {
    const link = reply.run ? threadLink(reply.run) : '';
    try {
      await respond({ response_type: 'ephemeral', replace_original: false, text: `${reply.text} ${link}`.trim() });
    } catch (error) {
      log.warn('could not answer the clicker', { error: (error as Error).message });
    }
  };

  app.action<BlockButtonAction>(new RegExp(`^${SCAN_SETUP_ACTION}_\\d+$`), async ({ ack, body, action, respond }) => {
    await ack();
    const [, domain = '', service = ''] = (action.value ?? '').split('|');
    const channel = body.channel?.id ?? null;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () =>
      ops.setup({ domain, service, user: body.user.id, channel }),
    );
    if (first) await answer(respond, reply);
  });

  app.action<BlockButtonAction>(SETUP_ALL_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const scanRunId = Number(action.value);
    if (!Number.isInteger(scanRunId)) return;
    const channel = body.channel?.id ?? null;
    const click = `click:${body.trigger_id}:${action.action_ts}`;
    const { value: reply, first } = await deliveries.once(click, () =>
      ops.fleet.setupAll(scanRunId, body.user.id, channel),
    );
    if (first) await answer(respond, reply);
  });
}
