import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';
import { dkimCommand } from './dkim.ts';

export function register(app: App, deps: ListenerDeps): void {
  app.command('/dkim', dkimCommand(deps));
}
