import type { App } from '@slack/bolt';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import type { Operations } from '../../operations/index.ts';
import type { Store } from '../../store/index.ts';
import type { Deliveries } from '../deliveries.ts';
import type { FormDrafts } from '../form-drafts.ts';
import * as actions from './actions/index.ts';
import * as commands from './commands/index.ts';
import * as events from './events/index.ts';
import * as views from './views/index.ts';

/** What every listener may use: the operations people ask for, and the Slack face's own memory. */
export interface ListenerDeps {
  ops: Operations;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Answers already given, so that a redelivered envelope changes nothing twice. */
  deliveries: Deliveries;
  /** A batch form's transfer code, kept on the bot's side while the form is open. */
  drafts: FormDrafts<{ authinfo?: string }>;
}

/** Every listener of the app, grouped by kind as Slack's starter template does. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  commands.register(app, deps);
  actions.register(app, deps);
  views.register(app, deps);
  events.register(app, deps);
}
