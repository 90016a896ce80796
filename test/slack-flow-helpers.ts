import assert from 'node:assert/strict';
import { isState } from './harness.ts';
import { messageLines, type StoredMessage } from './sim/slack.ts';
import { latestRun, type SlackHarness, type SlackMode, startSlackHarness } from './slack-harness.ts';

/** What the Slack flows share: a message as text, the approval card of a thread, a run ready for approval. */

export const text = (m: StoredMessage) => messageLines(m).join('\n');

export function card(h: SlackHarness, channel: string, threadTs: string): StoredMessage {
  const found = h.slack.thread(channel, threadTs).find((m) => text(m).includes('[Approve]'));
  assert.ok(found, `no approval card in:\n${h.slack.threadAsText(channel, threadTs)}`);
  return found;
}

/** No run, no OVH call, no message in a channel. */
export async function assertNothingStarted(h: SlackHarness): Promise<void> {
  await h.bot.core.engine.idle();
  assert.equal(h.bot.core.store.runs.count(), 0);
  assert.equal(h.sim.requests.length, 0);
  assert.equal(h.slack.callsOf('chat.postMessage').length, 0);
}

export async function readyThread(h: SlackHarness, domain: string) {
  h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
  const answer = await h.command(`setup ${domain}`);
  assert.equal(answer.status, 200);
  const run = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
  assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
  return { run, parentTs: h.bot.core.store.runs.get(run.id)!.threadTs! };
}

export type Flow = (h: SlackHarness) => Promise<void>;
export type HarnessOptions = NonNullable<Parameters<typeof startSlackHarness>[0]>;

/** Starts a harness in `mode`, runs `flow`, and always closes it. */
export function inMode(mode: SlackMode, flow: Flow, options: HarnessOptions = {}): () => Promise<void> {
  return async () => {
    const h = await startSlackHarness({ ...options, mode });
    try {
      await flow(h);
    } finally {
      await h.close();
    }
  };
}

export interface FlowCase {
  run: Flow;
  options?: HarnessOptions;
}
