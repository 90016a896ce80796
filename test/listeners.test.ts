import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlockButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { decisionClicked } from '../src/slack/listeners/actions/approval.ts';
import { dkimCommand } from '../src/slack/listeners/commands/dkim.ts';
import { appHomeOpened } from '../src/slack/listeners/events/home.ts';
import { APPROVER, isState, listenerDeps, REQUESTER, startHarness } from './harness.ts';

/**
 * The listeners as Slack's starter template tests them: each named callback called with a fake `ack` and `respond`,
 * the real operations behind it.
 */

/** A fake `ack` or `respond` that keeps what it was called with. */
function recorder() {
  const calls: { text?: string; response_type?: string }[] = [];
  const fn = async (value?: unknown) => {
    calls.push((typeof value === 'string' ? { text: value } : (value ?? {})) as { text?: string });
    return {} as never;
  };
  return { calls, fn };
}

function command(text: string, user = REQUESTER) {
  return {
    text,
    user_id: user,
    channel_id: 'C1',
    trigger_id: `trigger-${text}-${user}`,
  } as Parameters<ReturnType<typeof dkimCommand>>[0]['command'];
}

const noClient = {} as WebClient;

test('the /dkim callback answers in its ack: help, bad input (nothing written), a started run', async () => {
  const h = await startHarness();
  try {
    const callback = dkimCommand(listenerDeps(h));
    for (const [text, expected] of [
      ['help', /\/dkim setup example\.fr/],
      ['setup not a domain', /Not started/],
      ['vtex example.fr', /Usage: `\/dkim vtex/],
    ] as const) {
      const ack = recorder();
      const respond = recorder();
      await callback({ command: command(text), ack: ack.fn, respond: respond.fn, client: noClient });
      assert.equal(ack.calls.length, 1, text);
      assert.equal(ack.calls[0]?.response_type, 'ephemeral', text);
      assert.match(ack.calls[0]?.text ?? '', expected, text);
      assert.equal(respond.calls.length, 0, text);
    }
    assert.equal(h.core.store.runs.count(), 0, 'bad input wrote nothing');

    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'listen.fr', zone: true });
    const ack = recorder();
    const started = command('setup listen.fr');
    await callback({ command: started, ack: ack.fn, respond: recorder().fn, client: noClient });
    assert.match(ack.calls[0]?.text ?? '', /Started DKIM setup for listen\.fr/);
    // The same envelope again (its ack was lost): the first answer, nothing started twice.
    const again = recorder();
    await callback({ command: started, ack: again.fn, respond: recorder().fn, client: noClient });
    assert.equal(again.calls[0]?.text, ack.calls[0]?.text);
    assert.equal(h.core.store.runs.count(), 1);
  } finally {
    await h.close();
  }
});

test('the Approve callback acks first; a refusal goes to the clicker alone, once; an approval is taken once', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'click.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'click.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    const approval = h.core.store.approvals.latestForRun(run.id)!;
    const approve = decisionClicked(listenerDeps(h), 'approved');
    const click = (user: string, ts: string) => ({
      body: { trigger_id: `t-${ts}`, user: { id: user } } as Parameters<typeof approve>[0]['body'],
      action: { value: String(approval.id), action_ts: ts } as unknown as BlockButtonAction['actions'][number],
    });

    const ack = recorder();
    const respond = recorder();
    await approve({ ...click(REQUESTER, '1'), ack: ack.fn, respond: respond.fn });
    assert.equal(ack.calls.length, 1);
    assert.equal(respond.calls.length, 1);
    assert.match(JSON.stringify(respond.calls[0]), /someone else must approve/);
    assert.match(JSON.stringify(respond.calls[0]), /"replace_original":false/);
    await approve({ ...click(REQUESTER, '1'), ack: ack.fn, respond: respond.fn });
    assert.equal(respond.calls.length, 1, 'a redelivered click is answered once');

    const approved = recorder();
    await approve({ ...click(APPROVER, '2'), ack: ack.fn, respond: approved.fn });
    assert.equal(approved.calls.length, 0, 'nothing to tell the approver: the card says it');
    assert.equal(h.core.store.approvals.get(approval.id)?.status, 'approved');
    await approve({ ...click(APPROVER, '3'), ack: ack.fn, respond: approved.fn });
    assert.match(JSON.stringify(approved.calls[0]), /Already approved/);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
  } finally {
    await h.close();
  }
});

test('App Home is published when its tab is opened, not for the other tabs', async () => {
  const h = await startHarness();
  try {
    const published: unknown[] = [];
    const client = { views: { publish: async (args: unknown) => published.push(args) } } as unknown as WebClient;
    const opened = appHomeOpened(listenerDeps(h));
    const event = (tab: string) => ({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab, event_ts: '1' });
    await opened({ event: event('messages') as never, client });
    assert.equal(published.length, 0);
    await opened({ event: event('home') as never, client });
    assert.equal(published.length, 1);
    assert.match(JSON.stringify(published[0]), /"type":"home"/);
  } finally {
    await h.close();
  }
});
