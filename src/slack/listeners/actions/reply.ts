import type { RespondFn } from '@slack/bolt';
import type { Text } from '../../../domain/text.ts';
import type { Logger } from '../../../log.ts';
import { mrkdwn } from '../../render/escape.ts';

/** An answer to the person who clicked, seen by them alone; the message with the button stays as it is. */
export async function tellClicker(respond: RespondFn, text: Text, log: Logger): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', replace_original: false, text: mrkdwn(text) });
  } catch (error) {
    log.warn('could not answer the clicker', { error: (error as Error).message });
  }
}
