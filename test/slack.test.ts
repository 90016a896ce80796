import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secretValues } from '../src/config.ts';
import { APPROVE_ACTION, REJECT_ACTION } from '../src/slack/views/blocks.ts';
import { APPROVER, isState, OUTSIDER, REQUESTER } from './harness.ts';
import { eventCallbackBody, messageLines, type StoredMessage, sendToBot } from './sim/slack.ts';
import { latestRun, type SlackHarness, startSlackHarness } from './slack-harness.ts';

const text = (m: StoredMessage) => messageLines(m).join('\n');

function card(h: SlackHarness, channel: string, threadTs: string): StoredMessage {
  const found = h.slack.thread(channel, threadTs).find((m) => text(m).includes('[Approve]'));
  assert.ok(found, `no approval card in:\n${h.slack.threadAsText(channel, threadTs)}`);
  return found;
}

/** No run, no OVH call, no message in a channel. */
async function assertNothingStarted(h: SlackHarness): Promise<void> {
  await h.bot.core.engine.idle();
  assert.equal(h.bot.core.store.runs.count(), 0);
  assert.equal(h.sim.requests.length, 0);
  assert.equal(h.slack.callsOf('chat.postMessage').length, 0);
}

async function readyThread(h: SlackHarness, domain: string) {
  h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
  const answer = await h.command(`setup ${domain}`);
  assert.equal(answer.status, 200);
  const run = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
  assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
  return { run, parentTs: h.bot.core.store.runs.get(run.id)!.threadTs! };
}

test('the whole setup through Slack: one thread, edited parent, mentions, approval card, production', async () => {
  const h = await startSlackHarness();
  try {
    const answer = await h.command('setup example.fr');
    assert.equal(answer.status, 200);
    assert.equal(answer.json?.response_type, 'ephemeral');
    assert.match(answer.json?.text ?? '', /Started DKIM setup for example\.fr/);
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'example.fr', zone: true });
    const runId = latestRun(h).id;
    const waiting = await h.drive(isState('awaiting_approval', 'failed'), runId);
    // The domain was added after the command: discovery fails first, retry resumes.
    if (waiting.state === 'failed') {
      assert.match(waiting.lastError ?? '', /No Hosted Exchange service/);
      assert.equal((await h.command('retry example.fr')).status, 200);
      await h.drive(isState('awaiting_approval'), runId);
    }
    const top = h.slack.messages('C1');
    assert.equal(top.length, 1, 'one top-level message per run');
    const parent = top[0]!;
    const approvalCard = card(h, 'C1', parent.ts);
    assert.match(text(approvalCard), /Enable DKIM signing for example\.fr\?/);
    assert.match(text(approvalCard), /\[Approve\] \[Reject\]/);
    assert.match(text(approvalCard), /Who may approve: <@UAPPROVER>, <!subteam\^SAPPROVERS>/);
    const thread = h.slack.thread('C1', parent.ts);
    assert.ok(
      thread.slice(1).every((m) => m.thread_ts === parent.ts),
      'every later message is a threaded reply',
    );
    assert.ok(
      thread.some((m) => text(m).startsWith(`<@${REQUESTER}>`) && /keys for example\.fr are ready/.test(text(m))),
    );

    const click = await h.click(approvalCard, APPROVE_ACTION, APPROVER);
    assert.equal(click.status, 200);
    const done = await h.drive(isState('done', 'failed'), runId);
    assert.equal(done.state, 'done', done.lastError ?? '');
    const decided = h.slack.message('C1', approvalCard.ts)!;
    assert.match(text(decided), /Approved by <@UAPPROVER> at/);
    assert.doesNotMatch(text(decided), /\[Approve\]/);
    const final = h.slack.thread('C1', parent.ts);
    assert.ok(
      final.some((m) => text(m).startsWith(`<@${REQUESTER}>`) && /in production for example\.fr/.test(text(m))),
    );
    const edited = h.slack.message('C1', parent.ts)!;
    assert.ok(edited.versions.length >= 5, `the parent is edited in place (${edited.versions.length} versions)`);
    assert.match(text(edited), /Done/);
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
    assert.equal(h.slack.messages('C1').length, 1);
    assert.equal(h.bot.core.store.outbox.pendingCount(), 0);
    const seen = `${h.logLines.join('\n')}\n${JSON.stringify(h.slack.calls)}`;
    for (const secret of secretValues(h.env)) assert.ok(!seen.includes(secret), `a secret reached the logs or Slack`);
  } finally {
    await h.close();
  }
});

test('forged signatures and stale timestamps get 401 and change nothing', async () => {
  const h = await startSlackHarness();
  try {
    const forged = await h.command('setup forged.fr', { badSignature: true });
    const stale = await h.command('setup stale.fr', { timestampSeconds: Math.floor(Date.now() / 1000) - 600 });
    assert.equal(forged.status, 401);
    assert.equal(stale.status, 401);
    await assertNothingStarted(h);
  } finally {
    await h.close();
  }
});

test('bad input, help and unknown subcommands are answered ephemerally and start nothing', async () => {
  const h = await startSlackHarness();
  try {
    for (const [command, expected] of [
      ['setup exa mple.fr', /Not started/],
      ['setup <script>.fr', /Not started/],
      ['setup', /Not started: a domain name is required/],
      ['help', /\/dkim setup example\.fr/],
      ['frobnicate', /Unknown command `frobnicate`/],
      ['', /\/dkim setup example\.fr/],
      ['status', /No active runs/],
      ['cancel nothing.fr', /no active run/],
    ] as const) {
      const answer = await h.command(command);
      assert.equal(answer.status, 200);
      assert.equal(answer.json?.response_type, 'ephemeral', command);
      assert.match(answer.json?.text ?? '', expected, command);
    }
    await assertNothingStarted(h);
  } finally {
    await h.close();
  }
});

test('self-approval and a non-approver are refused privately; a double click enables once; a second setup links', async () => {
  const h = await startSlackHarness();
  try {
    const { run, parentTs } = await readyThread(h, 'clicks.fr');
    const approvalCard = card(h, 'C1', parentTs);
    const self = await h.click(approvalCard, APPROVE_ACTION, REQUESTER);
    const outsider = await h.click(approvalCard, REJECT_ACTION, OUTSIDER);
    assert.equal(self.status, 200);
    await h.slack.waitFor(() => h.slack.responses(outsider.responseUrlId).length > 0);
    assert.match(JSON.stringify(h.slack.responses(self.responseUrlId)), /someone else must approve/);
    assert.match(JSON.stringify(h.slack.responses(outsider.responseUrlId)), /Only <@UAPPROVER>/);
    assert.match(text(h.slack.message('C1', approvalCard.ts)!), /\[Approve\]/, 'the card stays');

    const again = await h.command('setup clicks.fr', { user: OUTSIDER });
    assert.match(again.json?.text ?? '', /already running.*archives\/C1\/p\d+/s);

    const [a, b] = await Promise.all([
      h.click(approvalCard, APPROVE_ACTION, APPROVER),
      h.click(approvalCard, APPROVE_ACTION, APPROVER),
    ]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
    await h.slack.waitFor(() => h.slack.responses().some((r) => /Already approved/.test(JSON.stringify(r))));
    assert.equal(h.sim.count('POST', /\/enable$/), 1);
    assert.equal(h.slack.messages('C1').length, 1);
  } finally {
    await h.close();
  }
});

test('Slack down for a while: the messages arrive after it returns, in order, none twice', async () => {
  const h = await startSlackHarness();
  try {
    h.slack.outage(true);
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'outage.fr', zone: true });
    await h.command('setup outage.fr');
    const runId = latestRun(h).id;
    await h.drive(isState('awaiting_approval'), runId, 3000);
    assert.equal(h.slack.messages('C1').length, 0);
    assert.ok(h.bot.core.store.outbox.pendingCount() >= 5);
    h.slack.rateLimit('chat.postMessage', 2, 3);
    h.slack.outage(false);
    const run = await h.drive(() => h.bot.core.store.outbox.pendingCount() === 0, runId);
    const thread = h.slack.thread('C1', run.threadTs!);
    const expected = h.bot.core.store.outbox
      .forRun(runId)
      .filter((m) => m.notice.type === 'reply' || m.notice.type === 'approval_request').length;
    assert.equal(thread.length - 1, expected, 'every reply once');
    const texts = thread.map(text);
    assert.equal(new Set(texts).size, texts.length, 'none twice');
    assert.match(texts[1]!, /Found outage\.fr/, 'in order');
    assert.match(texts.at(-1)!, /\[Approve\]/);
  } finally {
    await h.close();
  }
});

test('a restart in the middle of a run: the same thread continues', async () => {
  const h = await startSlackHarness();
  try {
    const { run, parentTs } = await readyThread(h, 'restart.fr');
    await h.restart();
    const approvalCard = card(h, 'C1', parentTs);
    await h.click(approvalCard, APPROVE_ACTION, APPROVER);
    assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
    assert.equal(h.slack.messages('C1').length, 1);
    const last = h.slack.thread('C1', parentTs).at(-1)!;
    assert.equal(last.thread_ts, parentTs);
    assert.match(text(last), /in production/);
  } finally {
    await h.close();
  }
});

test('the ack comes before any OVH call: a slow OVH still sees the command acked in time', async () => {
  const h = await startSlackHarness({ sim: { faults: { slowMs: 5_000, slowRate: 1, seed: 1 } } });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'slow.fr', zone: true });
    const answer = await h.command('setup slow.fr');
    assert.equal(answer.status, 200);
    assert.ok(answer.elapsedMs < 3000, `acked in ${answer.elapsedMs} ms`);
    assert.match(answer.json?.text ?? '', /Started DKIM setup/);
    h.sim.faults = {};
  } finally {
    await h.close();
  }
});

test('health answers 200 JSON once the listener is up', async () => {
  const h = await startSlackHarness();
  try {
    const response = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true, activeRuns: 0 });
  } finally {
    await h.close();
  }
});

test('a member of an approver user group approves (usergroups.users.list); App Home lists the runs', async () => {
  const h = await startSlackHarness({ slack: { usergroups: { SAPPROVERS: ['UGROUPIE'] } } });
  try {
    const { run, parentTs } = await readyThread(h, 'group.fr');
    await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, 'UGROUPIE');
    assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
    assert.ok(h.slack.callsOf('usergroups.users.list').length >= 1);

    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'pending.fr', zone: true });
    await h.command('setup pending.fr');
    await h.drive(isState('awaiting_approval'), latestRun(h).id);
    const opened = eventCallbackBody({ type: 'app_home_opened', user: APPROVER, channel: 'D1', tab: 'home' });
    assert.equal((await sendToBot(h.url, h.secret, opened)).status, 200);
    const home = await h.slack.waitFor(() => h.slack.homeView(APPROVER));
    const homeText = JSON.stringify(home);
    assert.match(homeText, /pending\.fr/);
    assert.match(homeText, /Waiting for approval/);
    assert.match(homeText, /Latest finished runs/);
    assert.match(homeText, /group\.fr/);
  } finally {
    await h.close();
  }
});
