import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notice } from '../src/domain/notices.ts';
import { plainText } from '../src/domain/text.ts';
import { isState, REQUESTER, startHarness } from './harness.ts';

const replies = (notices: Notice[]) =>
  notices.flatMap((n) => (n.type === 'reply' || n.type === 'records' ? [plainText(n.text)] : [])).join('\n');

test('a zone outside OVH: the records are handed over, diagnosed in DNS, and the run completes', async () => {
  const h = await startHarness();
  try {
    const info = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'elsewhere.fr', zone: false });
    const runId = (await h.ops.setup({ domain: 'elsewhere.fr', user: REQUESTER, channel: 'C1' })).run!.id;
    await h.drive((run) => run.state === 'waiting_ready' && (run.facts.looks as number) >= 2, runId);
    const notices = h.core.store.outbox.forRun(runId).map((m) => m.notice);
    const handed = notices.find((n) => n.type === 'records');
    assert.ok(handed && handed.type === 'records');
    assert.equal(handed.records.length, 2);
    const [signing] = info.selectors;
    const first = handed.records.find((r) => r.name.startsWith(signing))!;
    assert.equal(first.name, `${signing}._domainkey.elsewhere.fr.`);
    assert.equal(first.relative, `${signing}._domainkey`);
    assert.ok(first.target.endsWith('.dkim.mail.ovh.net.'));
    assert.equal(h.sim.count('POST', /\/record$/), 0, 'the bot writes nothing outside OVH zones');

    // The user first types the target without its final dot, as web forms often do.
    for (const r of handed.records) h.sim.setExternalRecord(r.name, 'CNAME', `${r.target.slice(0, -1)}.elsewhere.fr.`);
    await h.drive((run) => (run.facts.lastObservation as string).includes('without its final dot'), runId);
    for (const r of handed.records) h.sim.setExternalRecord(r.name, 'CNAME', r.target);
    const ready = await h.drive(isState('awaiting_approval'), runId);
    assert.equal(ready.state, 'awaiting_approval');
    const text = replies(h.core.store.outbox.forRun(runId).map((m) => m.notice));
    assert.match(text, /has no CNAME record in DNS yet/);
    assert.match(text, /written without its final dot/);
    assert.equal(text.split('DNS check:').length - 1, 2, 'each diagnosis is posted once, when it changes');
  } finally {
    await h.close();
  }
});

test('an existing CNAME with a relative target is diagnosed and never overwritten', async () => {
  const h = await startHarness();
  try {
    const info = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'quirk.fr', zone: true });
    const [signing] = info.selectors;
    const target = `${signing}._domainkey.quirk-fr.aa.dkim.mail.ovh.net`;
    h.sim.addZoneRecord('quirk.fr', { fieldType: 'CNAME', subDomain: `${signing}._domainkey`, target, ttl: 60 });
    const runId = (await h.ops.setup({ domain: 'quirk.fr', user: REQUESTER, channel: 'C1' })).run!.id;
    const run = await h.drive(isState('failed', 'awaiting_approval'), runId);
    assert.equal(run.state, 'failed');
    assert.match(run.lastError ?? '', /without the final dot/);
    assert.equal(h.sim.zoneRecords('quirk.fr').filter((r) => r.fieldType === 'CNAME').length, 1);

    const text = replies(h.core.store.outbox.forRun(runId).map((m) => m.notice));
    assert.match(text, /does not overwrite records it did not write/);
    assert.match(text, /`\/dkim retry` resumes/);
  } finally {
    await h.close();
  }
});

test('keys already in production: reused, nothing created, nothing enabled', async () => {
  const h = await startHarness();
  try {
    const info = h.sim.addExchangeDomain({
      org: 'org1',
      service: 'svc1',
      domain: 'live.fr',
      zone: true,
      dkim: {},
    });
    const [signing, spare] = info.selectors;
    h.sim.setSelectorStatus('live.fr', signing, 'inProduction');
    h.sim.setSelectorStatus('live.fr', spare, 'ready');
    for (const s of info.selectors) {
      const target = h.sim.selector('live.fr', s)!.targetRecord;
      h.sim.addZoneRecord('live.fr', {
        fieldType: 'CNAME',
        subDomain: `${s}._domainkey`,
        target: `${target}.`,
        ttl: 60,
      });
    }
    const runId = (await h.ops.setup({ domain: 'live.fr', user: REQUESTER, channel: 'C1' })).run!.id;
    const run = await h.drive(isState('done', 'failed'), runId);
    assert.equal(run.state, 'done', run.lastError ?? '');
    assert.equal(h.sim.count('POST', /\/dkim$/), 0);
    assert.equal(h.sim.count('POST', /\/record$/), 0);
    assert.equal(h.sim.count('POST', /\/enable$/), 0);
    assert.match(replies(h.core.store.outbox.forRun(runId).map((m) => m.notice)), /already in production/);
  } finally {
    await h.close();
  }
});

test('the deadline stalls a waiting run with its last observation; retry resumes; cancel stops', async () => {
  const h = await startHarness({ sim: { robotDelayMs: 72 * 3_600_000 } });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'slow.fr', zone: true });
    const runId = (await h.ops.setup({ domain: 'slow.fr', user: REQUESTER, channel: 'C1' })).run!.id;
    const stalled = await h.drive(isState('stalled', 'failed', 'awaiting_approval'), runId, 1000);
    assert.equal(stalled.state, 'stalled');
    assert.match(stalled.lastError ?? '', /Last observation: OVH status waitingRecord/);
    assert.ok(h.clock.now() - stalled.createdAt >= 48 * 3_600_000);
    const calls = h.sim.requests.length;
    assert.ok(calls < 130, `DNS looks are free; OVH status reads are spaced out: ${calls} calls in 48 h`);

    assert.ok((await h.ops.retry(['slow.fr'], REQUESTER)).ok);
    assert.equal(h.core.store.runs.get(runId)?.state, 'waiting_ready');
    const cancelled = await h.ops.cancel(['slow.fr'], REQUESTER);
    assert.ok(cancelled.ok);
    assert.equal(h.core.store.runs.get(runId)?.state, 'cancelled');
    await h.core.engine.tick({ all: true });
    assert.equal(h.core.store.runs.get(runId)?.state, 'cancelled');
    assert.equal(h.sim.count('POST', /\/enable$/), 0);
    assert.ok(!(await h.ops.cancel(['slow.fr'], REQUESTER)).ok);
  } finally {
    await h.close();
  }
});
