import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, isState, REQUESTER, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ sim: { taskDelayMs: 30_000, robotDelayMs: 10 * 60_000, enableDelayMs: 5 * 60_000 } });
});
after(() => h.close());

test('setup → keys → record → refresh → ready → approve → enable → inProduction', async () => {
  const { sim, ops, core } = h;
  const info = sim.addExchangeDomain({
    org: 'hosted-ab12345-1',
    service: 'hosted-ab12345-1',
    domain: 'example.fr',
    zone: true,
  });
  const [signing, spare] = info.selectors;

  const started = await ops.setup({ domain: 'Example.FR', user: REQUESTER, channel: 'C1' });
  assert.ok(started.ok, plainText(started.text));
  const runId = started.run!.id;
  const waiting = await h.drive(isState('awaiting_approval', 'failed'), runId);
  assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
  assert.equal(sim.count('POST', /\/enable$/), 0, 'no enable before the approval');

  const records = sim.zoneRecords('example.fr').filter((r) => r.fieldType === 'CNAME');
  assert.equal(records.length, 2, 'one record per selector');
  for (const record of records) assert.ok(record.target.endsWith('.'), `absolute target: ${record.target}`);
  assert.deepEqual(records.map((r) => r.subDomain).sort(), [`${signing}._domainkey`, `${spare}._domainkey`].sort());
  const recordPosts = sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/record') && r.status === 200);
  const refreshes = sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/refresh'));
  assert.equal(refreshes.length, 1, 'one refresh');
  assert.ok(refreshes[0]!.at >= recordPosts.at(-1)!.at, 'the refresh comes after the records');
  assert.equal(sim.count('POST', /\/dkim$/), 2, 'keys for both selectors');

  const approval = core.store.approvals.latestForRun(runId)!;
  assert.equal(approval.status, 'pending');
  assert.deepEqual(approval.snapshot.selector, signing);
  const decided = await ops.decide(approval.id, APPROVER, 'approved');
  assert.ok(decided.ok, plainText(decided.text));

  const done = await h.drive(isState('done', 'failed'), runId);
  assert.equal(done.state, 'done', done.lastError ?? '');
  assert.equal(sim.count('POST', /\/enable$/), 1, 'exactly one enable');
  assert.ok(
    sim.requests.find((r) => r.path.endsWith(`/dkim/${signing}/enable`)),
    'the signing selector is enabled',
  );
  assert.equal(sim.selector('example.fr', signing)?.status, 'inProduction');
  sim.runRobot();
  assert.equal(sim.selector('example.fr', spare)?.status, 'ready', 'the spare has its key and record, never enabled');

  const notices = core.store.outbox.forRun(runId).map((m) => m.notice);
  assert.equal(notices[0]?.type, 'parent');
  assert.equal(notices.filter((n) => n.type === 'parent').length, 1, 'one parent message per run');
  const mentions = notices.filter((n) => n.type === 'reply' && n.mention);
  assert.equal(mentions.length, 1, 'the requester is mentioned when in production');
  const cards = notices.filter((n) => n.type === 'approval_request');
  assert.equal(cards.length, 1, 'the card is the news that the keys are ready (it names the requester: see render)');
  assert.match(cards[0]?.type === 'approval_request' ? plainText(cards[0].lines[0] ?? '') : '', /keys are ready/);
  const events = core.store.events.forRun(runId).map((e) => e.type);
  for (const type of ['requested', 'approved', 'dkim_enable', 'record_created']) assert.ok(events.includes(type), type);
});
