import type { App } from '@slack/bolt';
import type { Clock } from '../../clock.ts';
import type { Store } from '../../store/index.ts';
import { homeView } from '../views/blocks.ts';

/** The App Home tab, published each time someone opens it. */
export function register(app: App, store: Store, clock: Clock): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({
      user_id: event.user,
      view: homeView(store.runs.listActive(200, { shown: true }), store.runs.listFinished(5), clock.now(), {
        broken: store.watches.broken(),
        lastScan: store.runs.latestOfKind('scan'),
      }),
    });
  });
}
