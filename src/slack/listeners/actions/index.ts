import type { App, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { APPROVE_ACTION, CHOOSE_ACTION, REJECT_ACTION } from '../../render/cards.ts';
import { SCAN_SETUP_ACTION, SETUP_ALL_ACTION } from '../../render/scan.ts';
import type { ListenerDeps } from '../index.ts';
import { decisionClicked } from './approval.ts';
import { choiceClicked } from './choice.ts';
import { scanSetupClicked, setupAllClicked } from './scan.ts';

type Clicked = (args: SlackActionMiddlewareArgs<BlockButtonAction>) => Promise<void>;

/**
 * Every button of the bot, through one Bolt listener that routes by action_id. Bolt runs every listener's filters
 * on every request, slash commands included: one listener instead of one per button keeps each ack shorter.
 */
export function register(app: App, deps: ListenerDeps): void {
  const routes: [RegExp, Clicked][] = [
    [new RegExp(`^${APPROVE_ACTION}$`), decisionClicked(deps, 'approved')],
    [new RegExp(`^${REJECT_ACTION}$`), decisionClicked(deps, 'rejected')],
    [new RegExp(`^${CHOOSE_ACTION}_\\d+$`), choiceClicked(deps)],
    [new RegExp(`^${SCAN_SETUP_ACTION}_\\d+$`), scanSetupClicked(deps)],
    [new RegExp(`^${SETUP_ALL_ACTION}$`), setupAllClicked(deps)],
  ];
  const anyButton = new RegExp(routes.map(([pattern]) => `(?:${pattern.source})`).join('|'));
  app.action<BlockButtonAction>(anyButton, async (args) => {
    const clicked = routes.find(([pattern]) => pattern.test(args.action.action_id))?.[1];
    await clicked?.(args);
  });
}
