import type { App } from '@slack/bolt';
import { orderSchema } from '../../domain/batch.ts';
import type { Operations } from '../../operations.ts';
import type { Deliveries } from '../deliveries.ts';
import { BATCH_FORM_CALLBACK, type BatchFormMetadata, formErrors, orderFromForm } from './batch-form.ts';

/**
 * The batch-order form's submission: invalid fields are shown inline and nothing is started; else the run starts.
 * A submission delivered twice starts one order.
 */
export function register(app: App, ops: Operations, deliveries: Deliveries): void {
  app.view(BATCH_FORM_CALLBACK, async ({ ack, body, view, client }) => {
    const metadata = JSON.parse(view.private_metadata) as BatchFormMetadata;
    const input = orderFromForm(metadata, view.state.values as Parameters<typeof orderFromForm>[1]);
    const checked = orderSchema.safeParse(input);
    if (!checked.success) {
      await ack({ response_action: 'errors', errors: formErrors(checked.error.issues) });
      return;
    }
    const submission = `view:${view.id}:${view.hash}`;
    const { value: reply, first } = await deliveries.once(submission, () =>
      ops.startBatch(checked.data, body.user.id, metadata.channel),
    );
    await ack();
    if (!reply.ok && first) {
      await client.chat.postEphemeral({ channel: metadata.channel, user: body.user.id, text: reply.text });
    }
  });
}
