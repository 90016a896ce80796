import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDkimKeys } from '../src/providers/vtex.ts';
import { isState } from './harness.ts';
import { messageLines } from './sim/slack.ts';
import { VtexSim } from './sim/vtex.ts';
import { latestRun, startSlackHarness } from './slack-harness.ts';

const SENDER = 'no-reply@shop.fr';

test('through Slack: emailNotFound, then emailNotVerified, then created; three records, verified, done', async () => {
  const h = await startSlackHarness();
  try {
    h.sim.addZone('shop.fr');
    h.vtex.script(SENDER, ['emailNotFound', 'emailNotFound', 'emailNotVerified', 'created']);
    const answer = await h.command(`vtex shop.fr ${SENDER}`);
    assert.match(answer.json?.text ?? '', /Started VTEX DKIM for shop\.fr with sender no-reply@shop\.fr/);
    const runId = latestRun(h).id;
    const run = await h.drive(isState('done', 'failed', 'stalled'), runId);
    assert.equal(run.state, 'done', run.lastError ?? '');
    assert.equal(h.vtex.requests.length, 4, 'the POST is the status check, repeated until created, then never again');

    const cnames = h.sim.zoneRecords('shop.fr').filter((r) => r.fieldType === 'CNAME');
    assert.equal(cnames.length, 3);
    assert.ok(
      cnames.every((r) => r.target.endsWith('.dkim.amazonses.com.')),
      'absolute targets',
    );
    assert.equal(h.sim.count('POST', /\/refresh$/), 1);

    const thread = h.slack.thread('C1', run.threadTs!).map((m) => messageLines(m).join('\n'));
    assert.equal(h.slack.messages('C1').length, 1);
    const text = thread.join('\n');
    assert.equal(text.split('Message Center → Settings → Senders').length - 1, 1, 'guidance once per status');
    assert.match(text, /confirmation link Amazon Web Services sent/);
    assert.match(text, /starts signing mail from `no-reply@shop\.fr` within 72 hours/);
    assert.match(thread.at(-1)!, /^<@UREQUESTER>/);
  } finally {
    await h.close();
  }
});

test('malformed dkimKeys: the run fails clearly and nothing is published', async () => {
  const h = await startSlackHarness();
  try {
    h.sim.addZone('shop.fr');
    const keys = VtexSim.keysFor('shop.fr');
    keys[1] = "'abc._domainkey.evil.com','CNAME','abc.dkim.amazonses.com'";
    h.vtex.script(SENDER, [{ status: 'created', dkimKeys: keys }]);
    await h.command(`vtex shop.fr ${SENDER}`);
    const run = await h.drive(isState('done', 'failed'), latestRun(h).id);
    assert.equal(run.state, 'failed');
    assert.match(run.lastError ?? '', /outside shop\.fr/);
    assert.equal(h.sim.count('POST', /\/record$/), 0);
    assert.equal(h.sim.zoneRecords('shop.fr').filter((r) => r.fieldType === 'CNAME').length, 0);
  } finally {
    await h.close();
  }
});

test('bad credentials: a clear error naming the permission, no records', async () => {
  const h = await startSlackHarness({ vtexToken: 'wrong-token' });
  try {
    h.sim.addZone('shop.fr');
    await h.command(`vtex shop.fr ${SENDER}`);
    const run = await h.drive(isState('done', 'failed'), latestRun(h).id);
    assert.equal(run.state, 'failed');
    assert.match(run.lastError ?? '', /401.*Add or edit provider/);
    assert.equal(h.sim.count('POST', /\/record$/), 0);
    assert.ok(!JSON.stringify(h.slack.calls).includes('wrong-token'), 'the token never reaches Slack');
  } finally {
    await h.close();
  }
});

test('a bad sender address: a clear reply and nothing written', async () => {
  const h = await startSlackHarness();
  try {
    for (const [command, expected] of [
      ['vtex shop.fr no-reply@other.fr', /not an address of shop\.fr/],
      ['vtex shop.fr no-reply', /is not a sender address/],
      ['vtex shop.fr a@b@shop.fr', /is not a sender address/],
      ['vtex shop.fr <x>@shop.fr', /is not a sender address/],
      ['vtex shop.fr', /Usage: `\/dkim vtex/],
      ['vtex sh..op.fr x@shop.fr', /Not started/],
    ] as const) {
      const answer = await h.command(command);
      assert.equal(answer.json?.response_type, 'ephemeral');
      assert.match(answer.json?.text ?? '', expected, command);
    }
    const ok = await h.command('vtex shop.fr News@Mail.Shop.FR');
    assert.match(ok.json?.text ?? '', /sender news@mail\.shop\.fr/);
    await h.bot.core.engine.idle();
    assert.equal(h.bot.core.store.runs.count(), 1);
  } finally {
    await h.close();
  }
});

test('a zone elsewhere: the three records are handed over and verified in DNS', async () => {
  const h = await startSlackHarness();
  try {
    h.vtex.script(SENDER, ['created']);
    await h.command(`vtex shop.fr ${SENDER}`);
    const runId = latestRun(h).id;
    await h.drive((run) => run.state === 'verifying', runId);
    const handed = h.bot.core.store.outbox.forRun(runId).find((m) => m.notice.type === 'records')?.notice;
    assert.ok(handed?.type === 'records' && handed.records.length === 3);
    for (const r of handed.records) h.sim.setExternalRecord(r.name, 'CNAME', r.target);
    assert.equal((await h.drive(isState('done'), runId)).state, 'done');
  } finally {
    await h.close();
  }
});

test('dkimKeys parsing is strict', () => {
  const good = VtexSim.keysFor('valdie.co');
  assert.equal(parseDkimKeys(good, 'valdie.co').ok, true);
  for (const bad of [
    null,
    good.slice(0, 2),
    [...good, good[0]],
    [good[0], good[0], good[1]],
    [good[0], good[1], "'x._domainkey.valdie.co','TXT','x.dkim.amazonses.com'"],
    [good[0], good[1], "'x._domainkey.valdie.co','CNAME','x.evil.com'"],
    [good[0], good[1], 'x._domainkey.valdie.co,CNAME,x.dkim.amazonses.com'],
    [good[0], good[1], "'x._domainkey.valdie.co\n','CNAME','x.dkim.amazonses.com'"],
  ]) {
    assert.equal(parseDkimKeys(bad, 'valdie.co').ok, false, JSON.stringify(bad));
  }
});

test('VTEX: a body cut mid-answer and a 408 are trouble that may pass: tried again, then created', async () => {
  const h = await startSlackHarness();
  try {
    h.sim.addZone('shop.fr');
    h.vtex.script(SENDER, ['cut', 408, 'cut', 'created']);
    await h.command(`vtex shop.fr ${SENDER}`);
    const run = await h.drive(isState('done', 'failed', 'stalled'), latestRun(h).id);
    assert.equal(run.state, 'done', run.lastError ?? '');
    assert.equal(h.vtex.requests.length, 4);
  } finally {
    await h.close();
  }
});

test('VTEX: an answer of an unknown shape fails the run with VTEX own body, cut and escaped in Slack', async () => {
  const h = await startSlackHarness();
  try {
    const raw = `{"state":"<!channel> ${'x'.repeat(400)}"}`;
    h.vtex.script(SENDER, [{ raw }]);
    await h.command(`vtex shop.fr ${SENDER}`);
    const run = await h.drive(isState('done', 'failed'), latestRun(h).id);
    assert.equal(run.state, 'failed');
    assert.match(run.lastError ?? '', /unexpected shape: \{"state":"<!channel> x+/);
    assert.ok((run.lastError ?? '').length < 420, 'VTEX body cut');
    const thread = h.slack.threadAsText('C1', run.threadTs!);
    assert.match(thread, /unexpected shape: \{"state":"&lt;!channel&gt; x/);
    assert.doesNotMatch(thread, /<!channel>/);
  } finally {
    await h.close();
  }
});

test("VTEX: the 72 hours of SES count from VTEX's first created: a retry after them says SES stopped, never success", async () => {
  const h = await startSlackHarness();
  try {
    h.vtex.script(SENDER, ['created']);
    await h.command(`vtex shop.fr ${SENDER}`);
    const runId = latestRun(h).id;
    const waiting = await h.drive((r) => r.state === 'verifying' && r.waitStreak > 2, runId);
    const createdAt = waiting.facts.createdAt as number;
    assert.ok(createdAt <= h.clock.now());
    const stalled = await h.drive(isState('stalled', 'failed', 'done'), runId, 2000);
    assert.equal(stalled.state, 'stalled', 'the records never came within the deadline');
    // Days later someone adds the records and retries: SES gave up 72 h after the keys were made.
    for (const key of h.vtex.keys('shop.fr')!) {
      const [, name, target] = /^'([^']+)','CNAME','([^']+)'$/.exec(key)!;
      h.sim.setExternalRecord(name!, 'CNAME', target!);
    }
    h.clock.advance(3 * 86_400_000);
    assert.match((await h.command('retry vtex shop.fr')).json?.text ?? '', /Retrying/);
    const after = await h.drive(isState('done', 'failed'), runId);
    assert.equal(after.state, 'failed', 'not reported as success');
    assert.match(after.lastError ?? '', /Amazon SES stopped looking/);
    assert.equal(after.facts.createdAt, createdAt, 'the first created time is kept');
    assert.equal(h.vtex.requests.length, 1, 'VTEX not asked again');
  } finally {
    await h.close();
  }
});
