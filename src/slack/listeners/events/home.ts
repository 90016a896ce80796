import type { SlackEventMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { homeView } from '../../render/home.ts';
import type { ListenerDeps } from '../index.ts';

type HomeArgs = Pick<SlackEventMiddlewareArgs<'app_home_opened'>, 'event'> & { client: WebClient };

/** The App Home tab, published each time someone opens it. */
export function appHomeOpened({ ops, store, clock }: ListenerDeps) {
  return async ({ event, client }: HomeArgs): Promise<void> => {
    if (event.tab !== 'home') return;
    await client.views.publish({
      user_id: event.user,
      view: homeView(store.runs.listActive(200, { shown: true }), store.runs.listFinished(5), clock.now(), {
        broken: store.watches.broken(),
        lastScan: store.runs.latestOfKind('scan'),
        reported: ops.report.recent(),
      }),
    });
  };
}
