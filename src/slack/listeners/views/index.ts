import type { App, ViewSubmitAction } from '@slack/bolt';
import { BATCH_FORM_CALLBACK } from '../../render/batch-form.ts';
import type { ListenerDeps } from '../index.ts';
import { batchFormSubmitted } from './batch.ts';

export function register(app: App, deps: ListenerDeps): void {
  app.view<ViewSubmitAction>(BATCH_FORM_CALLBACK, batchFormSubmitted(deps));
}
