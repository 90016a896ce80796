import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { approveLatest, byDomain, cards, groupSaid, publishKeys, scanned, setupAll } from './fleet-fixtures.ts';
import { APPROVER, isState, REQUESTER, startHarness } from './harness.ts';

/** **Set up all**: one setup per domain a scan found needing it, as a group with one approval card. */

test('Set up all: one setup per domain, one card for the group; a domain no longer ready at the click waits, the others enable', async () => {
  const h = await startHarness({ env: { MAX_ACTIVE_RUNS_PER_USER: '2' } });
  try {
    for (const domain of ['a.fr', 'b.fr', 'c.fr'])
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    h.sim.addMxPlanDomain({ domain: 'm.fr', zone: true });
    const live = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'live.fr', zone: true });
    h.sim.setSelectorStatus('live.fr', live.selectors[0], 'inProduction');
    publishKeys(h.sim, 'live.fr', [live.selectors[0]]);
    const scan = await scanned(h);

    const { reply, group, members } = await setupAll(h, scan);
    assert.match(plainText(reply.text), /Started 4 setups as one group/);
    assert.deepEqual(members.map((m) => m.domain).sort(), ['a.fr', 'b.fr', 'c.fr', 'm.fr']);
    assert.ok(
      members.every((m) => m.channelId === null && m.params.group === group.id),
      'members speak through the group',
    );
    assert.deepEqual(
      members.map((m) => m.params.offer),
      members.map((m) => (m.domain === 'm.fr' ? 'mxplan' : 'exchange')),
      'each pinned to the service the scan found',
    );
    const again = await h.ops.fleet.setupAll(scan.id, REQUESTER, 'C1');
    assert.equal(again.ok, false, 'a second click starts nothing');
    assert.equal(h.core.store.runs.count(), 1 + 1 + 4);
    // The members do not count against MAX_ACTIVE_RUNS_PER_USER (2): the group is one run of its requester.
    const alone = await h.ops.setup({ domain: 'live.fr', user: REQUESTER, channel: 'C1' });
    assert.ok(alone.ok, plainText(alone.text));

    const asked = await h.drive(isState('awaiting_approval', 'done', 'failed'), group.id);
    assert.equal(asked.state, 'awaiting_approval');
    assert.equal(cards(h, group.id).length, 1, 'one card for the group');
    const card = cards(h, group.id)[0]!;
    assert.ok(card.type === 'approval_request');
    assert.equal(card.title, 'Enable DKIM signing for 4 domains of scan #1?');
    assert.match(
      card.lines.join('\n'),
      /3 × `POST \/email\/exchange\/org1\/service\/svc1\/domain\/\{domain\}\/dkim\/\{selector\}\/enable`/,
    );
    assert.match(card.lines.join('\n'), /1 × `PUT \/email\/domain\/\{domain\}\/dkim\/enable`/);
    assert.equal(h.sim.count('POST', /\/enable$/) + h.sim.count('PUT', /\/enable$/), 0, 'nothing enabled before it');
    for (const m of byDomain(h, members).values()) assert.equal(m.state, 'awaiting_group', m.domain);
    assert.equal(
      members.flatMap((m) => h.core.store.outbox.forRun(m.id)).filter((o) => o.channel !== null).length,
      0,
      'no member posts in Slack by itself',
    );

    // c.fr is no longer ready when the card is clicked: its record went missing and OVH says waitingRecord.
    const cSelector = (byDomain(h, members).get('c.fr')!.facts.selectors as string[])[0]!;
    const cRecord = h.sim.zoneRecords('c.fr').find((r) => r.subDomain === `${cSelector}._domainkey`)!;
    h.sim.deleteZoneRecord('c.fr', cRecord.id);
    h.sim.setSelectorStatus('c.fr', cSelector, 'waitingRecord');
    await approveLatest(h, group.id);
    for (const domain of ['a.fr', 'b.fr', 'm.fr']) {
      const member = members.find((m) => m.domain === domain)!;
      const done = await h.drive(isState('done', 'failed'), member.id);
      assert.equal(done.state, 'done', `${domain}: ${done.lastError ?? ''}`);
    }
    const c = members.find((m) => m.domain === 'c.fr')!;
    const waitingC = await h.drive(isState('waiting_ready', 'done', 'failed'), c.id);
    assert.equal(waitingC.state, 'waiting_ready');
    assert.equal(h.sim.count('POST', /\/c\.fr\/dkim\/.*\/enable$/), 0, 'c.fr was not enabled');
    assert.equal(h.sim.count('POST', /\/(a|b)\.fr\/dkim\/.*\/enable$/), 2, 'one enable each');
    assert.equal(h.sim.count('PUT', /\/m\.fr\/dkim\/enable$/), 1);
    const thread = groupSaid(h, group.id)
      .flatMap((n) => (n.type === 'reply' ? [plainText(n.text)] : []))
      .join('\n');
    assert.match(
      thread,
      /\*c\.fr\* — c\.fr: the key `.*` is no longer ready at OVH \(status waitingRecord\), so it was not enabled/,
    );

    // Its record back, the key ready again: enabled under the same group approval, no second card.
    h.sim.addZoneRecord('c.fr', { fieldType: 'CNAME', subDomain: cRecord.subDomain, target: cRecord.target, ttl: 60 });
    const doneC = await h.drive(isState('done', 'failed'), c.id, 400);
    assert.equal(doneC.state, 'done', doneC.lastError ?? '');
    assert.equal(h.sim.count('POST', /\/c\.fr\/dkim\/.*\/enable$/), 1);
    const finished = await h.drive(isState('done', 'failed'), group.id);
    assert.equal(finished.state, 'done');
    assert.equal(cards(h, group.id).length, 1, 'still one card');
    assert.match(
      thread +
        groupSaid(h, group.id)
          .map((n) => (n.type === 'reply' ? n.text : ''))
          .join('\n'),
      /DKIM in production for 4 of 4 domains/,
    );
    assert.equal(
      h.core.store.watches.all().filter((w) => ['a.fr', 'b.fr', 'c.fr', 'm.fr'].includes(w.domain)).length,
      4,
    );
  } finally {
    await h.close();
  }
});

test("a domain whose records are elsewhere does not hold the group's card: the others are asked at once, it joins the next card once its records appear", async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'here.fr', zone: true });
    h.sim.addEmailProDomain({ service: 'emailpro-ab1-1', domain: 'there.fr', zone: true });
    const away = h.sim.addEmailProDomain({ service: 'emailpro-ab1-1', domain: 'away.fr' });
    const scan = await scanned(h);
    const { group, members } = await setupAll(h, scan);
    const here = members.find((m) => m.domain === 'here.fr')!;
    const there = members.find((m) => m.domain === 'there.fr')!;
    await h.drive(isState('awaiting_group'), here.id);
    const readyAt = Math.max(
      (h.core.store.runs.get(here.id)!.facts.groupAsk as { askedAt: number }).askedAt,
      ((await h.drive(isState('awaiting_group'), there.id)).facts.groupAsk as { askedAt: number }).askedAt,
    );
    const asked = await h.drive(isState('awaiting_approval', 'done', 'failed'), group.id);
    assert.equal(asked.state, 'awaiting_approval');
    const first = cards(h, group.id)[0]!;
    assert.ok(first.type === 'approval_request');
    assert.equal(first.title, 'Enable DKIM signing for 2 domains of scan #1?');
    assert.ok(
      h.core.store.approvals.latestForRun(group.id)!.createdAt - readyAt <= h.core.pollIntervalMs,
      'the card is posted within the first poll after the others are ready, not an hour later',
    );
    const lines = first.lines.map((l) => plainText(l)).join('\n');
    assert.match(lines, /here\.fr/);
    assert.match(lines, /there\.fr/);
    assert.doesNotMatch(lines, /away\.fr/);
    const records = groupSaid(h, group.id).find((n) => n.type === 'records');
    assert.ok(records?.type === 'records', 'the records to add are in the group thread');
    assert.match(plainText(records.text), /^\*away\.fr\* — /);
    assert.equal(records.records.length, 2);
    await approveLatest(h, group.id);
    for (const m of [here, there]) assert.equal((await h.drive(isState('done', 'failed'), m.id)).state, 'done');
    const awayRun = members.find((m) => m.domain === 'away.fr')!;
    assert.equal(
      h.sim.count('POST', /\/away\.fr\/dkim\/.*\/enable$/),
      0,
      'not enabled under a card that did not list it',
    );

    for (const record of records.records) h.sim.setExternalRecord(record.name, 'CNAME', record.target);
    await h.drive(isState('awaiting_group', 'failed'), awayRun.id, 400);
    const second = await h.drive(isState('awaiting_approval', 'done', 'failed'), group.id, 400);
    assert.equal(second.state, 'awaiting_approval');
    assert.equal(cards(h, group.id).length, 2, 'a second card for the domain ready later');
    const secondCard = cards(h, group.id)[1]!;
    assert.ok(secondCard.type === 'approval_request');
    assert.match(secondCard.lines.map((l) => plainText(l)).join('\n'), /away\.fr/);
    await approveLatest(h, group.id);
    assert.equal((await h.drive(isState('done', 'failed'), awayRun.id)).state, 'done');
    assert.equal(h.sim.selector('away.fr', away.selectors[0])?.status, 'inProduction');
    assert.equal(h.sim.count('POST', /\/enable$/), 3, 'one enable per domain, each under a card that listed it');
    assert.equal(h.core.store.approvals.forRun(group.id).filter((a) => a.status === 'approved').length, 2);
    assert.equal((await h.drive(isState('done', 'failed'), group.id)).state, 'done');
  } finally {
    await h.close();
  }
});

test("the group card's OVH calls, per offer and service, are the calls made: a test counts them", async () => {
  const h = await startHarness();
  try {
    for (const domain of ['x1.fr', 'x2.fr'])
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    h.sim.addEmailProDomain({ service: 'emailpro-ab1-1', domain: 'p1.fr', zone: true });
    h.sim.addMxPlanDomain({ domain: 'm1.fr', zone: true });
    const scan = await scanned(h);
    const { group, members } = await setupAll(h, scan);
    await h.drive(isState('awaiting_approval'), group.id, 400);
    const card = cards(h, group.id)[0]!;
    assert.ok(card.type === 'approval_request');
    const calls = card.lines
      .map((l) => /(\d+) × `(POST|PUT) ([^`]+)`/.exec(plainText(l)))
      .filter((m) => m !== null)
      .map((m) => ({ count: Number(m[1]), method: m[2]!, path: m[3]! }));
    assert.equal(calls.length, 3, 'Exchange, Email Pro and MX Plan, each its own line');
    const before = h.sim.requests.length;
    await approveLatest(h, group.id);
    for (const m of members) assert.equal((await h.drive(isState('done', 'failed'), m.id)).state, 'done', m.domain);
    const made = h.sim.requests.slice(before).filter((r) => r.method !== 'GET');
    for (const call of calls) {
      const pattern = new RegExp(`^${call.path.replace(/[.]/g, '\\.').replace(/\{domain\}|\{selector\}/g, '[^/]+')}$`);
      const matching = made.filter((r) => r.method === call.method && pattern.test(r.path));
      assert.equal(matching.length, call.count, `${call.method} ${call.path}`);
    }
    assert.equal(
      made.length,
      calls.reduce((sum, c) => sum + c.count, 0),
      'nothing else was called',
    );
  } finally {
    await h.close();
  }
});

test("rejecting the group's card ends its waiting members; cancelling a group ends the others; nothing is enabled", async () => {
  const h = await startHarness();
  try {
    for (const domain of ['r1.fr', 'r2.fr'])
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    const scan = await scanned(h);
    const { group, members } = await setupAll(h, scan);
    await h.drive(isState('awaiting_approval'), group.id);
    const approval = h.core.store.approvals.latestForRun(group.id)!;
    assert.ok((await h.ops.decide(approval.id, APPROVER, 'rejected')).ok);
    for (const m of members) assert.equal(h.core.store.runs.get(m.id)!.state, 'rejected', 'ended with the decision');
    assert.equal(h.sim.count('POST', /\/enable$/), 0);

    // Cancelled while its members are still making keys and records: they end with it, and write nothing more.
    const rescan = await scanned(h);
    const second = await setupAll(h, rescan);
    await h.drive(() => true, second.group.id);
    const writesBefore = h.sim.requests.length;
    const cancelled = await h.ops.cancel(['group'], REQUESTER);
    assert.ok(cancelled.ok, plainText(cancelled.text));
    assert.match(plainText(cancelled.text ?? ''), /Cancelled/);
    for (const m of second.members) assert.equal(h.core.store.runs.get(m.id)!.state, 'cancelled', m.domain);
    await h.drive(() => false, second.group.id, 400);
    const writesAfter = h.sim.requests.slice(writesBefore).filter((r) => r.method !== 'GET');
    assert.deepEqual(writesAfter, [], 'no OVH write after the cancel');
    assert.match(
      groupSaid(h, second.group.id)
        .map((n) => ('text' in n ? n.text : ''))
        .join('\n'),
      /2 unfinished setups end with it/,
    );
    assert.equal(h.sim.count('POST', /\/enable$/), 0);
  } finally {
    await h.close();
  }
});

test("a key made again after the group's card is not enabled under it: that domain asks the group's next card with its new record", async () => {
  const h = await startHarness();
  try {
    for (const domain of ['x.fr', 'y.fr'])
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    const scan = await scanned(h);
    const { group, members } = await setupAll(h, scan);
    await h.drive(isState('awaiting_approval'), group.id);
    const y = members.find((m) => m.domain === 'y.fr')!;
    const ySelector = (h.core.store.runs.get(y.id)!.facts.selectors as string[])[0]!;
    const shown = (h.core.store.runs.get(y.id)!.facts.groupAsk as { target: string }).target;

    // Someone makes y.fr's key again in the manager and points its record at the new target.
    const target = h.sim.remakeKey('y.fr', ySelector);
    assert.notEqual(target, shown);
    const record = h.sim.zoneRecords('y.fr').find((r) => r.subDomain === `${ySelector}._domainkey`)!;
    h.sim.deleteZoneRecord('y.fr', record.id);
    h.sim.addZoneRecord('y.fr', { fieldType: 'CNAME', subDomain: record.subDomain, target: `${target}.`, ttl: 60 });

    await approveLatest(h, group.id);
    const x = members.find((m) => m.domain === 'x.fr')!;
    assert.equal((await h.drive(isState('done', 'failed'), x.id)).state, 'done');
    assert.equal(
      h.sim.count('POST', /\/y\.fr\/dkim\/.*\/enable$/),
      0,
      'not enabled under a card that showed another record',
    );
    const thread = groupSaid(h, group.id)
      .flatMap((n) => (n.type === 'reply' ? [plainText(n.text)] : []))
      .join('\n');
    assert.match(
      thread,
      /y\.fr: the key `.*` now points to `.*`, not the record the card showed, so it was not enabled/,
    );

    const second = await h.drive(isState('awaiting_approval', 'done', 'failed'), group.id, 400);
    assert.equal(second.state, 'awaiting_approval');
    assert.equal(cards(h, group.id).length, 2, "the group's next card");
    const snapshot = h.core.store.approvals.latestForRun(group.id)!.snapshot as { members: { target?: string }[] };
    assert.deepEqual(
      snapshot.members.map((m) => m.target),
      [target],
    );
    await approveLatest(h, group.id);
    assert.equal((await h.drive(isState('done', 'failed'), y.id)).state, 'done');
    assert.equal(h.sim.count('POST', /\/y\.fr\/dkim\/.*\/enable$/), 1);
  } finally {
    await h.close();
  }
});

test('Set up all when every domain already has a setup going: nothing started, no empty group, the runs named', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'busy.fr', zone: true });
    const scan = await scanned(h);
    const alone = await h.ops.setup({ domain: 'busy.fr', user: REQUESTER, channel: 'C1' });
    assert.ok(alone.ok, plainText(alone.text));
    const runs = h.core.store.runs.count();
    const reply = await h.ops.fleet.setupAll(scan.id, REQUESTER, 'C1');
    assert.equal(reply.ok, false);
    assert.match(
      plainText(reply.text),
      new RegExp(`Nothing started: every domain already has a run going: .*busy\\.fr.* \\(run #${alone.run!.id}\\)`),
    );
    assert.equal(h.core.store.runs.count(), runs, 'no group written');
    assert.equal(h.core.store.runs.latestOfKind('group'), undefined);
  } finally {
    await h.close();
  }
});
