import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notice } from '../src/domain/notices.ts';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, type Harness, isState, OUTSIDER, REQUESTER, startHarness } from './harness.ts';

/** Every OVH mail offer, found by `/dkim setup` itself: Exchange, Email Pro, MX Plan / Zimbra. */

const said = (h: Harness, runId: number) =>
  h.core.store.outbox
    .forRun(runId)
    .map((m) => m.notice)
    .flatMap((n: Notice) =>
      n.type === 'reply' || n.type === 'records'
        ? [plainText(n.text)]
        : n.type === 'choice'
          ? [plainText(n.title)]
          : [],
    )
    .join('\n');

async function approve(h: Harness, runId: number) {
  const approval = h.core.store.approvals.latestForRun(runId)!;
  const decided = await h.ops.decide(approval.id, APPROVER, 'approved');
  assert.ok(decided.ok, plainText(decided.text));
}

test('Email Pro: the same flow as Exchange at its own address; both selectors keyed and published, one enable, the spare never enabled', async () => {
  const h = await startHarness({ sim: { taskDelayMs: 30_000, robotDelayMs: 10 * 60_000, enableDelayMs: 5 * 60_000 } });
  try {
    const info = h.sim.addEmailProDomain({ service: 'emailpro-zz111111-1', domain: 'pro.fr', zone: true });
    const [signing, spare] = info.selectors;
    const run = (await h.ops.setup({ domain: 'pro.fr', user: REQUESTER, channel: 'C1' })).run!;
    const waiting = await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
    assert.equal(waiting.facts.offer, 'pro');
    assert.match(said(h, run.id), /Found pro\.fr on Email Pro service `emailpro-zz111111-1`/);
    assert.equal(h.sim.count('POST', /^\/email\/pro\/emailpro-zz111111-1\/domain\/pro\.fr\/dkim$/), 2, 'two keys');
    const creates = h.sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dkim'));
    assert.ok(
      creates.every((r) => (r.body as { autoEnableDKIM?: boolean }).autoEnableDKIM === false),
      'never auto-enabled',
    );
    const records = h.sim.zoneRecords('pro.fr').filter((r) => r.fieldType === 'CNAME');
    assert.deepEqual(records.map((r) => r.subDomain).sort(), [`${signing}._domainkey`, `${spare}._domainkey`].sort());
    assert.ok(records.every((r) => r.target.endsWith('.')));
    const card = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'approval_request')!.notice;
    assert.ok(card.type === 'approval_request');
    assert.match(
      card.lines.join('\n'),
      /POST \/email\/pro\/emailpro-zz111111-1\/domain\/pro\.fr\/dkim\/.*-selector1\/enable/,
    );

    await approve(h, run.id);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.sim.count('POST', /\/enable$/), 1, 'exactly one enable');
    assert.equal(h.sim.selector('pro.fr', signing)?.status, 'inProduction');
    h.sim.runRobot();
    assert.equal(h.sim.selector('pro.fr', spare)?.status, 'ready');
    assert.equal(h.sim.count('GET', /^\/email\/exchange\/.*\/dkim/), 0, 'nothing asked of Exchange but discovery');
    assert.match(plainText(h.ops.status(['pro.fr']).text), /on Email Pro service `emailpro-zz111111-1`: Done/);
  } finally {
    await h.close();
  }
});

test('MX Plan with an OVH zone: the approval comes before the first PUT enable, then OVH writes the records and turns signing on', async () => {
  const h = await startHarness({ sim: { mxPlanDelayMs: 10 * 60_000 } });
  try {
    h.sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'mx.fr', user: REQUESTER, channel: 'C1' })).run!;
    const waiting = await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(waiting.state, 'awaiting_approval', waiting.lastError ?? '');
    assert.equal(h.sim.count('PUT', /\/dkim\/enable$/), 0, 'nothing touched before the approval');
    const card = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'approval_request')!.notice;
    assert.ok(card.type === 'approval_request');
    assert.match(
      card.lines.join('\n'),
      /PUT \/email\/domain\/mx\.fr\/dkim\/enable` — this call creates the keys \*and turns signing on\*/,
    );

    await approve(h, run.id);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.sim.count('PUT', /\/dkim\/enable$/), 1, 'one enable');
    assert.equal(h.sim.mxPlanDkim('mx.fr')?.status, 'enabled');
    assert.equal(h.sim.count('POST', /\/record$/), 0, 'OVH wrote the records, not the bot');
    assert.match(said(h, run.id), /DKIM is on for mx\.fr \(MX Plan\): mail is now signed with/);
  } finally {
    await h.close();
  }
});

test('MX Plan with a zone elsewhere: toConfigure, the records handed over, DNS waited for, then enable again under the same approval', async () => {
  const h = await startHarness({ sim: { mxPlanDelayMs: 10 * 60_000 } });
  try {
    const info = h.sim.addMxPlanDomain({ domain: 'far.fr', zone: false, alternateSelectorOrder: true });
    const run = (await h.ops.setup({ domain: 'far.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    const handed = await h.drive(isState('checking_records', 'failed', 'done'), run.id);
    assert.equal(handed.state, 'checking_records', handed.lastError ?? '');
    const records = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'records')!.notice;
    assert.ok(records.type === 'records');
    assert.deepEqual(
      records.records.map((r) => [r.name, r.target]).sort(),
      info.records.map((r) => [`${r.name.replace(/\.$/, '')}.`, r.target]).sort(),
      'the exact records, absolute',
    );
    assert.equal(h.sim.count('PUT', /\/dkim\/enable$/), 1);
    for (const r of info.records) h.sim.setExternalRecord(r.name, 'CNAME', r.target);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.equal(h.sim.count('PUT', /\/dkim\/enable$/), 2, 'enable again, once, under the one approval');
    assert.equal(h.core.store.approvals.latestForRun(run.id)!.status, 'approved', 'no second card');
    assert.match(said(h, run.id), /asking OVH to turn signing on again/);
  } finally {
    await h.close();
  }
});

test('MX Plan, an OVH zone of the account but OVH asking for the records: the bot writes them once, absolute, and refreshes', async () => {
  const h = await startHarness({ sim: { mxPlanDelayMs: 60_000 } });
  try {
    const info = h.sim.addMxPlanDomain({ domain: 'half.fr', zone: true, ovhWritesRecords: false });
    const run = (await h.ops.setup({ domain: 'half.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    const cnames = h.sim.zoneRecords('half.fr').filter((r) => r.fieldType === 'CNAME');
    assert.equal(cnames.length, 2, 'one record per selector, never two');
    assert.ok(
      cnames.every((r) => r.target.endsWith('.')),
      'absolute targets',
    );
    assert.deepEqual(
      cnames.map((r) => `${r.subDomain}.half.fr.`).sort(),
      info.records.map((r) => `${r.name.replace(/\.$/, '')}.`).sort(),
    );
    assert.equal(h.sim.count('POST', /\/zone\/half\.fr\/refresh$/), 1, 'the zone refreshed once');
    assert.equal(h.sim.count('PUT', /\/dkim\/enable$/), 2);
  } finally {
    await h.close();
  }
});

test('MX Plan toFix: the wrong record is never overwritten; the thread shows both values; retry resumes', async () => {
  const h = await startHarness({ sim: { mxPlanDelayMs: 60_000 } });
  try {
    const info = h.sim.addMxPlanDomain({ domain: 'fix.fr', zone: false });
    const [first, second] = info.records;
    // An old record of another provider sits at the first selector's name.
    h.sim.setExternalRecord(first!.name, 'CNAME', 'somewhere.else.example.');
    const run = (await h.ops.setup({ domain: 'fix.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approve(h, run.id);
    const failed = await h.drive(isState('failed', 'done', 'checking_records'), run.id);
    assert.equal(failed.state, 'failed', failed.lastError ?? '');
    const text = said(h, run.id);
    assert.match(text, /has a wrong value, and the bot never overwrites a record/);
    assert.match(text, /DNS serves `somewhere\.else\.example\.`, OVH expects `.*\.dkim\.mail\.ovh\.net\.`/);
    assert.equal(h.sim.resolve(first!.name)?.[0]?.value, 'somewhere.else.example.', 'untouched');

    h.sim.setExternalRecord(first!.name, 'CNAME', first!.target);
    h.sim.setExternalRecord(second!.name, 'CNAME', second!.target);
    assert.ok((await h.ops.retry(['fix.fr'], REQUESTER)).ok);
    // The failure came after the approval: a retry never reuses it.
    const again = await h.drive(isState('awaiting_approval', 'done', 'failed'), run.id);
    assert.equal(again.state, 'awaiting_approval');
    await approve(h, run.id);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
  } finally {
    await h.close();
  }
});

test('MX Plan error: a terminal failure that says to open an OVH support ticket naming the domain', async () => {
  const h = await startHarness();
  try {
    h.sim.addMxPlanDomain({ domain: 'broken.fr', zone: true, status: 'error' });
    const run = (await h.ops.setup({ domain: 'broken.fr', user: REQUESTER, channel: 'C1' })).run!;
    const failed = await h.drive(isState('failed', 'awaiting_approval'), run.id);
    assert.equal(failed.state, 'failed');
    assert.match(said(h, run.id), /Open an OVH support ticket naming the domain broken\.fr/);
    assert.equal(h.sim.count('PUT', /enable$/), 0);
  } finally {
    await h.close();
  }
});

test('an MX Plan answer outside the documented shapes fails the run with OVH raw answer shown', async () => {
  const odd = { status: 'sleeping', activeSelector: null, autoconfig: true, selectors: [] };
  const h = await startHarness({
    sim: { onRequest: ({ path }) => (path === '/email/domain/odd.fr/dkim' ? { status: 200, body: odd } : undefined) },
  });
  try {
    h.sim.addMxPlanDomain({ domain: 'odd.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'odd.fr', user: REQUESTER, channel: 'C1' })).run!;
    const failed = await h.drive(isState('failed', 'awaiting_approval'), run.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.lastError ?? '', /a shape the bot does not know, so it does nothing: \{"status":"sleeping"/);
    assert.equal(h.sim.count('PUT', /enable$/), 0);
  } finally {
    await h.close();
  }
});

test('found on two services: the thread asks which, the requester answers, and the run goes on there', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'moving.fr', zone: true });
    h.sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: 'moving.fr', zone: false });
    const run = (await h.ops.setup({ domain: 'moving.fr', user: REQUESTER, channel: 'C1' })).run!;
    const asking = await h.drive(isState('choosing', 'failed'), run.id);
    assert.equal(asking.state, 'choosing');
    const question = h.core.store.outbox.forRun(run.id).find((m) => m.notice.type === 'choice')!.notice;
    assert.ok(question.type === 'choice');
    assert.deepEqual(
      question.options.map((o) => o.value),
      ['exchange/org1/svc1', 'pro/emailpro-zz1-1'],
    );
    assert.match(
      plainText((await h.ops.answer(run.id, undefined, 'pro/emailpro-zz1-1', OUTSIDER)).text),
      /Only the requester/,
    );
    assert.match(
      plainText((await h.ops.answer(run.id, undefined, 'pro/nowhere', REQUESTER)).text),
      /is not one of the choices/,
    );
    assert.ok((await h.ops.answer(run.id, undefined, 'pro/emailpro-zz1-1', REQUESTER)).ok);
    const ready = await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.equal(ready.state, 'awaiting_approval', ready.lastError ?? '');
    assert.equal(ready.facts.offer, 'pro');
    assert.equal(h.sim.count('POST', /^\/email\/exchange\/.*\/dkim$/), 0, 'nothing made on the other service');
    assert.match(
      plainText((await h.ops.answer(run.id, undefined, 'pro/emailpro-zz1-1', REQUESTER)).text),
      /already answered/,
    );
  } finally {
    await h.close();
  }
});

test('--service pins the service: the bot looks nowhere else; a bad one is refused with nothing written', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'pinned.fr', zone: true });
    h.sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: 'pinned.fr', zone: true });
    for (const bad of ['pro', 'exchange/org1', 'mxplan/x', 'pro/a b', 'a/b/c', '']) {
      const reply = await h.ops.setup({ domain: 'pinned.fr', user: REQUESTER, channel: 'C1', service: bad });
      assert.equal(reply.ok, false, bad);
      assert.match(plainText(reply.text), /is not a service/, bad);
    }
    await h.core.engine.idle();
    assert.equal(h.core.store.runs.count(), 0);
    assert.equal(h.sim.requests.length, 0, 'no outside call');
    const run = (
      await h.ops.setup({ domain: 'pinned.fr', user: REQUESTER, channel: 'C1', service: 'exchange/org1/svc1' })
    ).run!;
    const ready = await h.drive(isState('awaiting_approval', 'choosing', 'failed'), run.id);
    assert.equal(ready.state, 'awaiting_approval');
    assert.equal(ready.facts.offer, 'exchange');
    assert.equal(h.sim.count('GET', /^\/email\/pro$/), 0, 'no discovery at all');
  } finally {
    await h.close();
  }
});

test('found nowhere: the failure says where the bot looked, including an offer the credentials may not read', async () => {
  const forbidden = { status: 403, body: { class: 'Client::Forbidden', message: 'This call has not been granted' } };
  const h = await startHarness({ sim: { onRequest: ({ path }) => (path === '/email/pro' ? forbidden : undefined) } });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'other.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'nowhere.fr', user: REQUESTER, channel: 'C1' })).run!;
    const failed = await h.drive(isState('failed'), run.id);
    const why = failed.lastError ?? '';
    assert.match(why, /No Hosted Exchange service, Email Pro service or MX Plan of this OVH account has nowhere\.fr/);
    assert.match(
      why,
      /Exchange: 1 service; Email Pro: not readable with these credentials \(This call has not been granted\)/,
    );
    assert.match(why, /MX Plan: the domains with an MX Plan or Zimbra mail service/);
  } finally {
    await h.close();
  }
});

test('an unknown service given with --service: the run fails with OVH own answer, and nothing at OVH changes', async () => {
  const h = await startHarness();
  try {
    h.sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: 'real.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'real.fr', user: REQUESTER, channel: 'C1', service: 'pro/emailpro-nope' }))
      .run!;
    const failed = await h.drive(isState('failed', 'awaiting_approval'), run.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.lastError ?? '', /404/);
    assert.equal(h.sim.requests.filter((r) => r.method !== 'GET').length, 0, 'no call that changes anything');
  } finally {
    await h.close();
  }
});

test('MX Plan: OVH never takes the enable sent once DNS serves the records: a few tries spaced out, then the run stops and says where the switch is', async () => {
  let puts = 0;
  const h = await startHarness({
    sim: {
      onRequest: ({ method, path }) => {
        if (method !== 'PUT' || path !== '/email/domain/far.fr/dkim/enable') return undefined;
        puts++;
        // From the second enable on OVH answers with a task that never runs: the switch stays toConfigure.
        if (puts < 2) return undefined;
        return {
          status: 200,
          body: { id: 900 + puts, domain: 'far.fr', function: 'domain/enableDKIM', status: 'todo' },
        };
      },
    },
  });
  try {
    const info = h.sim.addMxPlanDomain({ domain: 'far.fr', zone: false });
    const run = (await h.ops.setup({ domain: 'far.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    const approval = h.core.store.approvals.latestForRun(run.id)!;
    assert.ok((await h.ops.decide(approval.id, APPROVER, 'approved')).ok);
    await h.drive(isState('checking_records', 'failed', 'done'), run.id);
    for (const r of info.records) h.sim.setExternalRecord(r.name, 'CNAME', r.target);
    const start = h.clock.now();
    const end = await h.drive(isState('done', 'failed'), run.id, 100);
    assert.equal(end.state, 'failed');
    assert.equal(puts, 3, 'three enables under the one approval');
    assert.ok(h.clock.now() - start >= 2 * 15 * 60_000, 'spaced by ENABLE_REPEAT_AFTER_MS');
    assert.match(
      end.lastError ?? '',
      /OVH did not turn DKIM on after 3 enables, though DNS serves both records: the switch is toConfigure/,
    );
  } finally {
    await h.close();
  }
});
