import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState } from './harness.ts';
import { assertNothingStarted, card, flows, inMode, readyThread, text } from './slack-flows.ts';
import { dmarcFlows } from './slack-flows-dmarc.ts';
import { reportFlows } from './slack-flows-report.ts';
import { latestRun, startSlackHarness } from './slack-harness.ts';

for (const [name, flow] of Object.entries({ ...flows, ...reportFlows, ...dmarcFlows }))
  test(`HTTP mode: ${name}`, inMode('http', flow.run, flow.options));

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

test("a CSV Slack refuses (the app installed without files:write) is said in the scan's thread, with Slack's answer", async () => {
  const h = await startSlackHarness({ slack: { scopes: ['commands', 'chat:write', 'chat:write.public'] } });
  try {
    h.sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
    await h.command('scan');
    const scan = await h.drive(isState('done', 'failed'), latestRun(h).id);
    await h.drive(() => h.bot.core.store.outbox.pendingCount() === 0, scan.id);
    assert.equal(h.slack.files().length, 0);
    assert.match(
      h.slack.threadAsText('C1', scan.threadTs!),
      /The CSV file could not be attached: Slack answered `missing_scope`\. The app needs the `files:write` scope/,
    );
  } finally {
    await h.close();
  }
});
