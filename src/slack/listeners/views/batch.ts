import type { SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { orderSchema } from '../../../domain/batch.ts';
import { type BatchFormMetadata, formErrors, orderFromForm } from '../../render/batch-form.ts';
import { mrkdwn } from '../../render/escape.ts';
import type { ListenerDeps } from '../index.ts';

type SubmitArgs = Pick<SlackViewMiddlewareArgs<ViewSubmitAction>, 'ack' | 'body' | 'view'> & { client: WebClient };

/**
 * The batch-order form's submission: invalid fields are shown inline and nothing is started; else the run starts.
 * A submission delivered twice starts one order.
 */
export function batchFormSubmitted({ ops, deliveries, drafts }: ListenerDeps) {
  return async ({ ack, body, view, client }: SubmitArgs): Promise<void> => {
    const submission = `view:${view.id}:${view.hash}`;
    // A redelivery of a submission already taken: the first one's draft may be gone, and the order is started.
    if (deliveries.seen(submission)) {
      await ack();
      return;
    }
    const metadata = JSON.parse(view.private_metadata) as BatchFormMetadata;
    const draft = drafts.get(metadata.draft);
    if (metadata.draft && !draft) {
      const again = `This form was opened before the bot restarted and its transfer code is gone: type \`/dkim batch ${metadata.command} ${metadata.domain} …\` again.`;
      await ack({ response_action: 'errors', errors: { owner_id: again } });
      return;
    }
    const values = view.state.values as Parameters<typeof orderFromForm>[1];
    const checked = orderSchema.safeParse(orderFromForm(metadata, values, draft?.authinfo));
    if (!checked.success) {
      await ack({ response_action: 'errors', errors: formErrors(checked.error.issues) });
      return;
    }
    const { value: reply, first } = await deliveries.once(submission, () =>
      ops.startBatch(checked.data, body.user.id, metadata.channel),
    );
    await ack();
    if (reply.ok) drafts.drop(metadata.draft);
    if (!reply.ok && first) {
      await client.chat.postEphemeral({ channel: metadata.channel, user: body.user.id, text: mrkdwn(reply.text) });
    }
  };
}
