import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION, CHOOSE_ACTION, REJECT_ACTION } from '../../render/cards.ts';
import { SCAN_SETUP_ACTION, SETUP_ALL_ACTION } from '../../render/scan.ts';
import type { ListenerDeps } from '../index.ts';
import { decisionClicked } from './approval.ts';
import { choiceClicked } from './choice.ts';
import { scanSetupClicked, setupAllClicked } from './scan.ts';

export function register(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(APPROVE_ACTION, decisionClicked(deps, 'approved'));
  app.action<BlockButtonAction>(REJECT_ACTION, decisionClicked(deps, 'rejected'));
  app.action<BlockButtonAction>(new RegExp(`^${CHOOSE_ACTION}_\\d+$`), choiceClicked(deps));
  app.action<BlockButtonAction>(new RegExp(`^${SCAN_SETUP_ACTION}_\\d+$`), scanSetupClicked(deps));
  app.action<BlockButtonAction>(SETUP_ALL_ACTION, setupAllClicked(deps));
}
