import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/index.ts';
import { buildCore } from '../src/core.ts';
import { isFinished } from '../src/domain/runs.ts';
import { plainText } from '../src/domain/text.ts';
import { silentLogger } from '../src/log.ts';
import { APPROVER, isState, REQUESTER, startHarness } from './harness.ts';
import { approve, said, setUp } from './lifecycle-fixtures.ts';

/** The key lifecycle (DESIGN §2.6, §2.7): rotate, disable, and the watch on finished domains, on a fake clock. */

const HOUR = 3_600_000;

test('rotate: one card with the whole plan; the spare enabled once; the grace period; then the old key retired and made again, the spare now', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '2' } });
  try {
    const [a, b] = (await setUp(h, 'rot.fr')).selectors;
    const keyBefore = h.sim.selector('rot.fr', a)!.publicKey;
    assert.equal(h.core.store.watches.get('rot.fr')?.selector, a, 'watched once set up');
    const run = (await h.ops.rotate({ domain: 'rot.fr', user: REQUESTER, channel: 'C1' })).run!;
    const waiting = await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
    const card = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'approval_request')!.notice;
    assert.ok(card.type === 'approval_request');
    const plan = card.lines.join('\n');
    assert.match(plan, new RegExp(`POST /email/exchange/org1/service/svc1/domain/rot\\.fr/dkim/${b}/enable`));
    assert.match(plan, new RegExp(`After 2 h \\(ROTATION_GRACE_HOURS\\), for mail signed with \`${a}\` to be checked`));
    assert.match(
      plan,
      new RegExp(`\`POST .*/dkim/${a}/disable\`, \`DELETE .*/dkim/${a}\`, \`POST .*/dkim \\{selectorName: ${a}\\}\``),
    );
    assert.equal(h.sim.count('POST', /\/enable$/), 1, 'nothing before the approval (the setup enabled once)');

    await approve(h, run.id);
    const grace = await h.drive(isState('grace', 'failed'), run.id);
    assert.equal(grace.state, 'grace', grace.lastError ?? '');
    assert.equal(h.sim.selector('rot.fr', b)?.status, 'inProduction');
    assert.equal(
      h.sim.selector('rot.fr', a)?.status,
      'inProduction',
      'A keeps signing-capable keys in the grace period',
    );
    const announced = h.core.store.outbox.forRun(run.id).map((m) => m.notice);
    assert.ok(
      announced.some((n) => n.type === 'reply' && n.mention && plainText(n.text).includes(`\`${b}\` is in production`)),
    );
    assert.equal(h.core.store.watches.get('rot.fr')?.selector, b, 'the watch follows the new signing key');
    assert.ok(grace.nextCheckAt! >= h.clock.now() + 2 * HOUR - 60_000, 'the run sleeps until the grace period ends');

    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${b}/enable$`)), 1, 'B enabled exactly once');
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 1);
    assert.equal(h.sim.count('DELETE', new RegExp(`/dkim/${a}$`)), 1, 'one delete');
    h.sim.runRobot();
    assert.equal(h.sim.selector('rot.fr', a)?.status, 'ready', 'A is the new spare');
    assert.notEqual(h.sim.selector('rot.fr', a)?.publicKey, keyBefore, 'with a fresh key');
    assert.equal(h.sim.selector('rot.fr', b)?.status, 'inProduction');
    assert.equal(h.sim.count('PUT', /\/record\//), 0, 'the target did not change: the record stays');
    assert.match(
      said(h, run.id),
      new RegExp(`Rotation done for rot\\.fr: signing with \`${b}\`; \`${a}\` has a fresh key and is the spare`),
    );
  } finally {
    await h.close();
  }
});

test('rotate: a target that changes is updated in the record the bot wrote; a record it did not write is handed over', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const [a] = (await setUp(h, 'move.fr', { newTargetOnRecreate: true })).selectors;
    const run = (await h.ops.rotate({ domain: 'move.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    const fresh = h.sim.selector('move.fr', a)!.targetRecord;
    const record = h.sim.zoneRecords('move.fr').find((r) => r.subDomain === `${a}._domainkey`)!;
    assert.equal(record.target, `${fresh}.`, 'pointed to the fresh target, absolute');
    assert.equal(h.sim.zoneRecords('move.fr').filter((r) => r.fieldType === 'CNAME').length, 2, 'edited, not added');

    // Another domain whose records were there before the bot: it never edits them.
    const info = h.sim.addExchangeDomain({
      org: 'org1',
      service: 'svc1',
      domain: 'theirs.fr',
      zone: true,
      newTargetOnRecreate: true,
    });
    for (const s of info.selectors)
      h.sim.setSelectorStatus('theirs.fr', s, s === info.selectors[0] ? 'inProduction' : 'ready');
    for (const s of info.selectors) {
      const target = h.sim.selector('theirs.fr', s)!.targetRecord;
      h.sim.addZoneRecord('theirs.fr', {
        fieldType: 'CNAME',
        subDomain: `${s}._domainkey`,
        target: `${target}.`,
        ttl: 60,
      });
    }
    const other = (await h.ops.rotate({ domain: 'theirs.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), other.id);
    await approve(h, other.id);
    const handed = await h.drive(isState('rekey_waiting', 'done', 'failed'), other.id);
    assert.equal(handed.state, 'rekey_waiting');
    assert.match(said(h, other.id), /The bot did not write that record, so it does not edit it/);
    assert.equal(h.sim.count('PUT', /\/zone\/theirs\.fr\/record\//), 0);
  } finally {
    await h.close();
  }
});

test('rotate: a spare without a key is keyed and published first, as in setup', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const info = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'half.fr', zone: true });
    const [a, b] = info.selectors;
    h.sim.setSelectorStatus('half.fr', a, 'inProduction');
    const target = h.sim.selector('half.fr', a)!.targetRecord;
    h.sim.addZoneRecord('half.fr', { fieldType: 'CNAME', subDomain: `${a}._domainkey`, target: `${target}.`, ttl: 60 });
    const run = (await h.ops.rotate({ domain: 'half.fr', user: REQUESTER, channel: 'C1' })).run!;
    const waiting = await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
    assert.equal(h.sim.count('POST', /\/dkim$/), 1, 'the spare keyed');
    assert.ok(h.sim.zoneRecords('half.fr').some((r) => r.subDomain === `${b}._domainkey` && r.target.endsWith('.')));
  } finally {
    await h.close();
  }
});

test('cancel in the grace period: the spare keeps signing, the old key is left as it is, and the thread says so', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '72' } });
  try {
    const [a, b] = (await setUp(h, 'stay.fr', { pro: true })).selectors;
    const run = (await h.ops.rotate({ domain: 'stay.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    await h.drive(isState('grace'), run.id);
    assert.ok((await h.ops.cancel(['rotate', 'stay.fr'], REQUESTER)).ok);
    h.clock.advance(100 * HOUR);
    await h.core.engine.tick({ all: true });
    assert.equal(h.sim.selector('stay.fr', b)?.status, 'inProduction');
    assert.equal(h.sim.selector('stay.fr', a)?.status, 'inProduction', 'A left as it is');
    assert.equal(h.sim.count('POST', /\/disable$/) + h.sim.count('DELETE', /\/dkim\//), 0);
    assert.match(said(h, run.id), new RegExp(`\`${b}\` keeps signing; \`${a}\` is left as it is`));
  } finally {
    await h.close();
  }
});

test('rotate on MX Plan: the reply says OVH does not offer it, and nothing starts', async () => {
  const h = await startHarness();
  try {
    h.sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
    const setup = (await h.ops.setup({ domain: 'mx.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), setup.id);
    await approve(h, setup.id);
    await h.drive(isState('done'), setup.id);
    const before = h.sim.requests.length;
    const reply = await h.ops.rotate({ domain: 'mx.fr', user: REQUESTER, channel: 'C1' });
    assert.equal(reply.ok, false);
    assert.match(plainText(reply.text), /OVH does not offer rotation for MX Plan or Zimbra/);
    await h.core.engine.idle();
    assert.equal(h.core.store.runs.count(), 1, 'nothing started');
    assert.equal(h.sim.requests.length, before, 'no call');
  } finally {
    await h.close();
  }
});

test('disable: an approval, the offer disable call once, done when OVH shows it off; keys and records stay; the watch ends', async () => {
  const h = await startHarness();
  try {
    const [a] = (await setUp(h, 'off.fr')).selectors;
    const run = (await h.ops.disable({ domain: 'off.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(h.sim.count('POST', /\/disable$/), 0, 'nothing before the approval');
    await approve(h, run.id);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 1);
    assert.equal(h.sim.selector('off.fr', a)?.status, 'ready', 'the key stays');
    assert.equal(h.sim.zoneRecords('off.fr').filter((r) => r.fieldType === 'CNAME').length, 2, 'the records stay');
    assert.equal(h.core.store.watches.get('off.fr'), undefined);

    h.sim.addMxPlanDomain({ domain: 'mxoff.fr', zone: true, status: 'enabled' });
    const mx = (await h.ops.disable({ domain: 'mxoff.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), mx.id);
    await approve(h, mx.id);
    assert.equal((await h.drive(isState('done', 'failed'), mx.id)).state, 'done');
    assert.equal(h.sim.count('PUT', /\/email\/domain\/mxoff\.fr\/dkim\/disable$/), 1);
    assert.equal(h.sim.mxPlanDkim('mxoff.fr')?.status, 'disabled');
  } finally {
    await h.close();
  }
});

test('the watch: a record deleted behind the bot is said once, with a mention; its repair once; a key past ROTATION_REMINDER_DAYS gets one reminder', async () => {
  const h = await startHarness({ env: { ROTATION_REMINDER_DAYS: '180' } });
  try {
    const [a] = (await setUp(h, 'watched.fr')).selectors;
    const watch = h.core.store.watches.get('watched.fr')!;
    const runId = watch.runId;
    const calls = () => h.sim.requests.length;

    let before = calls();
    assert.deepEqual(await h.core.watcher.checkAll(), {
      checked: 1,
      broken: 0,
      repaired: 0,
      reminded: 0,
      records: { checked: 0, broken: 0, repaired: 0 },
    });
    assert.equal(calls(), before, 'DNS right: no OVH call');

    const record = h.sim.zoneRecords('watched.fr').find((r) => r.subDomain === `${a}._domainkey`)!;
    h.sim.deleteZoneRecord('watched.fr', record.id);
    before = calls();
    assert.equal((await h.core.watcher.checkAll()).broken, 1);
    assert.equal(calls() - before, 1, 'one OVH read when DNS looks wrong');
    assert.equal((await h.core.watcher.checkAll()).broken, 0, 'said once');
    const broken = h.core.store.outbox
      .forRun(runId)
      .map((m) => m.notice)
      .filter((n) => n.type === 'reply' && /DKIM check/.test(plainText(n.text)));
    assert.equal(broken.length, 1);
    assert.ok(broken[0]!.type === 'reply' && broken[0]!.mention);
    assert.match(said(h, runId), /has no CNAME record in DNS yet\. OVH shows `.*` inProduction/);
    assert.equal(h.core.store.watches.broken().length, 1, 'App Home lists it');

    h.sim.addZoneRecord('watched.fr', {
      fieldType: 'CNAME',
      subDomain: record.subDomain,
      target: record.target,
      ttl: 60,
    });
    assert.equal((await h.core.watcher.checkAll()).repaired, 1);
    assert.equal((await h.core.watcher.checkAll()).repaired, 0, 'said once');

    h.clock.advance(181 * 24 * HOUR);
    assert.equal((await h.core.watcher.checkAll()).reminded, 1);
    assert.equal((await h.core.watcher.checkAll()).reminded, 0, 'one reminder');
    assert.match(said(h, runId), /is 181 days old: `\/dkim rotate watched\.fr`/);
  } finally {
    await h.close();
  }
});

test('ROTATION_REMINDER_DAYS=0 turns the reminder off', async () => {
  const h = await startHarness({ env: { ROTATION_REMINDER_DAYS: '0' } });
  try {
    await setUp(h, 'never.fr');
    h.clock.advance(1000 * 24 * HOUR);
    assert.equal((await h.core.watcher.checkAll()).reminded, 0);
  } finally {
    await h.close();
  }
});

test('the grace period survives a restart: the bot started again on the same database carries on when it ends', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '5' } });
  try {
    const [a] = (await setUp(h, 'restart.fr')).selectors;
    const run = (await h.ops.rotate({ domain: 'restart.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    const grace = await h.drive(isState('grace'), run.id);
    await h.core.engine.stop();
    h.core.store.close();

    const again = buildCore(parseConfig(h.env), { clock: h.clock, env: h.env, log: silentLogger });
    try {
      h.clock.advance(4 * HOUR);
      await again.engine.tick();
      await again.engine.idle();
      assert.equal(again.store.runs.get(run.id)!.state, 'grace', 'not before the end');
      assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 0);
      h.clock.set(grace.facts.graceEndsAt as number);
      for (let i = 0; i < 50 && !isFinished(again.store.runs.get(run.id)!.state); i++) {
        await again.engine.tick();
        await again.engine.idle();
        const due = again.store.runs.nextDueAt();
        if (due !== undefined) h.clock.set(due);
      }
      assert.equal(again.store.runs.get(run.id)!.state, 'done');
      assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 1);
    } finally {
      await again.engine.stop();
      again.store.close();
    }
  } finally {
    await h.sim.close();
  }
});

test('rotate with the default settings (a grace of 72 h, a wait deadline of 48 h) finishes: the wait for OVH counts from the end of the grace', async () => {
  const h = await startHarness();
  try {
    const [a, b] = (await setUp(h, 'long.fr')).selectors;
    const run = (await h.ops.rotate({ domain: 'long.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), run.id);
    await approve(h, run.id);
    const done = await h.drive(isState('done', 'failed', 'stalled'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.sim.selector('long.fr', b)?.status, 'inProduction');
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 1);
  } finally {
    await h.close();
  }
});

test('the spare switched off during the grace: the old key is not disabled, the run says why; once it signs again, retry goes on from there', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '2' } });
  try {
    const [a, b] = (await setUp(h, 'off.fr')).selectors;
    const run = (await h.ops.rotate({ domain: 'off.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), run.id);
    await approve(h, run.id);
    assert.equal((await h.drive(isState('grace', 'failed'), run.id)).state, 'grace');
    h.sim.setSelectorStatus('off.fr', b, 'ready'); // someone turned the spare off in the OVH manager

    const stopped = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(stopped.state, 'failed');
    assert.match(
      stopped.lastError ?? '',
      new RegExp(`\`${b}\` no longer signs at OVH \\(status ready\\), so \`${a}\` was left signing`),
    );
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 0, 'the last signing key is never turned off');
    assert.equal(h.sim.selector('off.fr', a)?.status, 'inProduction');

    h.sim.setSelectorStatus('off.fr', b, 'inProduction');
    const retried = await h.ops.retry(['off.fr'], REQUESTER);
    assert.ok(retried.ok, plainText(retried.text));
    assert.equal(h.core.store.runs.get(run.id)!.state, 'retiring', 'resumed where it stopped, not back to a new card');
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(
      h.sim.count('POST', new RegExp(`/dkim/${b}/enable$`)),
      1,
      'the spare was not enabled again by the bot',
    );
    assert.equal(h.sim.count('POST', new RegExp(`/dkim/${a}/disable$`)), 1);
  } finally {
    await h.close();
  }
});

test("rotate: the zone's refresh after the record's update fails once: the step taken again finds its own update, refreshes, and goes on", async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '0' } });
  try {
    const [a] = (await setUp(h, 'again.fr', { newTargetOnRecreate: true })).selectors;
    let updated = false;
    let failedRefresh = false;
    h.sim.onRequest = (request) => {
      if (request.method === 'PUT' && request.path.startsWith('/domain/zone/again.fr/record/')) updated = true;
      if (updated && !failedRefresh && request.method === 'POST' && request.path === '/domain/zone/again.fr/refresh') {
        failedRefresh = true;
        return { status: 500, body: { class: 'Server::InternalServerError', message: 'Internal server error' } };
      }
      return undefined;
    };
    const run = (await h.ops.rotate({ domain: 'again.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.ok(failedRefresh, 'the refresh failed once');
    assert.doesNotMatch(said(h, run.id), /changed by someone else/);
    const fresh = h.sim.selector('again.fr', a)!.targetRecord;
    const record = h.sim.zoneRecords('again.fr').find((r) => r.subDomain === `${a}._domainkey`)!;
    assert.equal(record.target, `${fresh}.`);
    assert.equal(h.sim.count('PUT', /\/zone\/again\.fr\/record\//), 1, 'updated once');
    assert.equal(done.facts.cnameChanged, 'updated');
  } finally {
    await h.close();
  }
});

test('one run that changes keys per domain: a setup or a disable during a rotation is refused, saying which run, and writes nothing', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '2' } });
  try {
    await setUp(h, 'one.fr');
    const rotation = (await h.ops.rotate({ domain: 'one.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), rotation.id);
    await approve(h, rotation.id);
    assert.equal((await h.drive(isState('grace', 'failed'), rotation.id)).state, 'grace');
    const runs = h.core.store.runs.count();
    const calls = h.sim.requests.length;
    const setup = await h.ops.setup({ domain: 'one.fr', user: REQUESTER, channel: 'C1' });
    const disable = await h.ops.disable({ domain: 'one.fr', user: REQUESTER, channel: 'C1' });
    for (const reply of [setup, disable]) {
      assert.equal(reply.ok, false);
      assert.match(
        plainText(reply.text),
        new RegExp(
          `a rotate run for one\\.fr is going \\(run #${rotation.id}, .*\\) and changes the same keys at OVH.*/dkim cancel rotate one\\.fr`,
        ),
      );
    }
    assert.equal(h.core.store.runs.count(), runs, 'no run written');
    assert.equal(h.sim.requests.length, calls, 'no OVH call');
    assert.equal((await h.drive(isState('done', 'failed'), rotation.id)).state, 'done');
    const after = await h.ops.disable({ domain: 'one.fr', user: REQUESTER, channel: 'C1' });
    assert.ok(after.ok, plainText(after.text));
  } finally {
    await h.close();
  }
});

test('disable with both selectors signing (a rotation cancelled in its grace): both are turned off, one after the other; a card whose signers changed is refused', async () => {
  const h = await startHarness({ env: { ROTATION_GRACE_HOURS: '72' } });
  try {
    const [a, b] = (await setUp(h, 'both.fr')).selectors;
    const rotation = (await h.ops.rotate({ domain: 'both.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), rotation.id);
    await approve(h, rotation.id);
    await h.drive(isState('grace'), rotation.id);
    assert.ok((await h.ops.cancel(['rotate', 'both.fr'], REQUESTER)).ok);

    // A card posted while both sign, then one is turned off in the manager: the click is refused, nothing sent.
    const stale = (await h.ops.disable({ domain: 'both.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), stale.id);
    h.sim.setSelectorStatus('both.fr', a, 'ready');
    const refused = await h.ops.decide(h.core.store.approvals.latestForRun(stale.id)!.id, APPROVER, 'approved');
    assert.equal(refused.ok, false);
    assert.match(plainText(refused.text), new RegExp(`what signs changed since the card was posted \\(now ${b}\\)`));
    assert.equal(h.sim.count('POST', /\/disable$/), 0);
    h.sim.setSelectorStatus('both.fr', a, 'inProduction');

    const card = await h.drive(isState('awaiting_approval', 'failed'), stale.id);
    assert.equal(card.state, 'awaiting_approval');
    const lines = h.core.store.approvals.latestForRun(stale.id)!;
    assert.deepEqual((lines.snapshot as { actives: string[] }).actives, [a, b]);
    await approve(h, stale.id);
    const done = await h.drive(isState('done', 'failed'), stale.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    for (const s of [a, b]) {
      assert.equal(h.sim.count('POST', new RegExp(`/dkim/${s}/disable$`)), 1, s);
      assert.equal(h.sim.selector('both.fr', s)?.status, 'ready', s);
    }
    assert.match(said(h, stale.id), /DKIM is off for both\.fr/);
  } finally {
    await h.close();
  }
});
