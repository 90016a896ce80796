import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_FORM_CALLBACK } from '../src/slack/render/batch-form.ts';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState, REQUESTER } from './harness.ts';
import { buttonClickPayload, slashCommandPayload, textInputs, viewSubmissionPayload } from './sim/slack.ts';
import { card, flows, inMode, readyThread, text } from './slack-flows.ts';
import { dmarcFlows } from './slack-flows-dmarc.ts';
import { reportFlows } from './slack-flows-report.ts';
import { latestRun, type SlackHarness } from './slack-harness.ts';

/** Socket Mode, the manifest's default: the same flows as over HTTP, and what only a WebSocket link can do. */

for (const [name, flow] of Object.entries({ ...flows, ...reportFlows, ...dmarcFlows }))
  test(`Socket Mode: ${name}`, inMode('socket', flow.run, flow.options));

async function health(h: SlackHarness): Promise<number> {
  return (await fetch(`http://127.0.0.1:${h.bot.port}/healthz`)).status;
}

/** Polls the health check until it answers `status` (bounded: the link's events are real-time). */
async function healthBecomes(h: SlackHarness, status: number, within = 5_000): Promise<void> {
  const until = Date.now() + within;
  for (let seen = await health(h); seen !== status; seen = await health(h)) {
    if (Date.now() > until) assert.fail(`/healthz stayed ${seen}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test(
  'Socket Mode: a refresh in the middle of a run, then a link dropped without a word: the run completes, no message lost',
  inMode('socket', async (h) => {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'link.fr', zone: true });
    assert.match((await h.command('setup link.fr')).json?.text ?? '', /Started DKIM setup/);
    const runId = latestRun(h).id;

    h.socket.refresh();
    await h.socket.waitForConnection(2);
    const ready = await h.drive(isState('awaiting_approval'), runId);
    const approvalCard = card(h, 'C1', ready.threadTs!);
    assert.equal((await h.click(approvalCard, APPROVE_ACTION, APPROVER)).status, 200);

    h.socket.drop();
    await h.socket.waitForConnection(3);
    assert.match((await h.command('status link.fr')).json?.text ?? '', /link\.fr/);
    const done = await h.drive(isState('done', 'failed'), runId);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.slack.callsOf('apps.connections.open').length, 3, 'one link per (re)connection');
    const thread = h.slack.thread('C1', done.threadTs!).map(text);
    const said = h.bot.core.store.outbox
      .forRun(runId)
      .filter((m) => m.notice.type === 'reply' || m.notice.type === 'approval_request')
      .filter((m, i, all) => {
        // A reply about a step already posted edits that message (a request and its confirmation are one).
        const key = m.notice.type === 'reply' ? m.notice.key : undefined;
        return !key || all.findIndex((o) => o.notice.type === 'reply' && o.notice.key === key) === i;
      });
    assert.equal(thread.length - 1, said.length, 'every reply reached the thread');
    assert.equal(h.bot.core.store.outbox.pendingCount(), 0);
    assert.ok(thread.some((t) => /in production for link\.fr/.test(t)));
  }),
);

test(
  'Socket Mode: an envelope delivered twice (a lost ack) starts nothing twice and approves nothing twice',
  inMode('socket', async (h) => {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'twice.fr', zone: true });
    const command = slashCommandPayload({
      text: 'setup twice.fr',
      userId: REQUESTER,
      channelId: 'C1',
      responseUrl: h.slack.responseUrl('twice'),
    });
    const first = await h.socket.deliver('slash_commands', command);
    const envelope = h.socket.envelopes.at(-1)!.envelopeId;
    const again = await h.socket.redeliver(envelope);
    assert.equal(h.socket.deliveriesOf(envelope).at(-1)?.retryAttempt, 1);
    assert.deepEqual(again.payload, first.payload, 'the redelivery gets the first answer');
    assert.match(JSON.stringify(first.payload), /Started DKIM setup/);
    assert.equal(h.bot.core.store.runs.count(), 1, 'one run');

    const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const click = buttonClickPayload(card(h, 'C1', run.threadTs!), APPROVE_ACTION, {
      userId: APPROVER,
      responseUrl: h.slack.responseUrl('click'),
    });
    await h.socket.deliver('interactive', click);
    await h.socket.redeliver(h.socket.envelopes.at(-1)!.envelopeId);
    assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
    assert.equal(h.sim.count('POST', /\/enable$/), 1, 'one enable');
    const decisions = h.bot.core.store.events.forRun(run.id).filter((e) => e.type === 'approved');
    assert.equal(decisions.length, 1, 'one decision');
    assert.equal(h.slack.responses('click').length, 0, 'nothing told to the clicker twice (nor once: it worked)');
    assert.equal(h.slack.messages('C1').length, 1);
  }),
);

test(
  'Socket Mode: /healthz answers 200 while the link is up, 503 from the moment it drops until it is back',
  inMode('socket', async (h) => {
    assert.equal(await health(h), 200);
    const body = await (await fetch(`http://127.0.0.1:${h.bot.port}/healthz`)).json();
    assert.deepEqual(body, { ok: true, link: 'up', activeRuns: 0 });
    // The next reconnections are refused for a while, so the link stays down long enough to be seen down.
    h.slack.failNext('apps.connections.open', 'internal_error', 3);
    h.socket.drop();
    await healthBecomes(h, 503);
    const downBody = await (await fetch(`http://127.0.0.1:${h.bot.port}/healthz`)).json();
    assert.deepEqual(downBody, {
      ok: false,
      reasons: ['the Socket Mode link to Slack is down'],
      link: 'down',
      activeRuns: 0,
    });
    assert.equal(h.socket.openConnections().length, 0);
    await h.socket.waitForConnection(2);
    await healthBecomes(h, 200);
    assert.ok(h.slack.callsOf('apps.connections.open').length >= 4, 'the refused attempts were tried again');
    const { run } = await readyThread(h, 'after.fr');
    assert.equal(run.state, 'awaiting_approval', 'the bot still works after the outage');
  }),
);

test(
  "Socket Mode: a transfer form's submission delivered again after it was taken closes the form and starts nothing twice",
  inMode(
    'socket',
    async (h) => {
      await h.command('batch transfer boutique.com Tr4nsfer-C0de-9f2b');
      const opened = await h.slack.waitFor(() => h.slack.callsOf('views.open')[0]);
      const submission = viewSubmissionPayload({
        userId: REQUESTER,
        callbackId: BATCH_FORM_CALLBACK,
        privateMetadata: (opened.args.view as { private_metadata: string }).private_metadata,
        values: textInputs({
          owner_id: 'ab1234-ovh',
          tech: 'ab1-ovh',
          admin: 'ab1-ovh',
          billing: 'ab1-ovh',
          offer: 'gold',
          hostingType: 'none',
        }),
      });
      const first = await h.socket.deliver('interactive', submission);
      assert.doesNotMatch(JSON.stringify(first.payload ?? {}), /errors/, 'taken: the form closes');
      await h.bot.core.engine.idle();
      assert.equal(h.bot.core.store.runs.count(), 1);
      const again = await h.socket.redeliver(h.socket.envelopes.at(-1)!.envelopeId);
      assert.doesNotMatch(
        JSON.stringify(again.payload ?? {}),
        /errors|restarted/,
        'the redelivery closes the form too',
      );
      assert.equal(h.bot.core.store.runs.count(), 1, 'one order');
    },
    { env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' } },
  ),
);
