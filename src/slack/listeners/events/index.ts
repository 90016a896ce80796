import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';
import { appHomeOpened } from './home.ts';

export function register(app: App, deps: ListenerDeps): void {
  app.event('app_home_opened', appHomeOpened(deps));
}
