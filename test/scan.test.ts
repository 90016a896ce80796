import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notice } from '../src/domain/notices.ts';
import { type ScanResult, scanCsv } from '../src/domain/scan.ts';
import { plainText } from '../src/domain/text.ts';
import { DOMAIN_TRIES } from '../src/workflows/scan/index.ts';
import { bigAccount, mixedAccount } from './fleet-fixtures.ts';
import { type Harness, isState, REQUESTER, startHarness } from './harness.ts';

/** `/dkim scan`: every domain of the account, its DKIM at OVH and in DNS, SPF, DMARC, and what to do next. */

async function scan(h: Harness) {
  const started = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
  assert.ok(started.ok, plainText(started.text));
  const run = await h.drive(isState('done', 'failed', 'stalled'), started.run!.id);
  assert.equal(run.state, 'done', run.lastError ?? '');
  const results = h.core.store.scans.results(run.id);
  const byDomain = new Map<string, ScanResult>(results.map((r) => [r.domain, r]));
  return { run, results, byDomain };
}

const notices = (h: Harness, runId: number): Notice[] => h.core.store.outbox.forRun(runId).map((m) => m.notice);

test('a mixed account: offer and service, DKIM at OVH and in DNS per selector, SPF, DMARC and the next step of every domain', async () => {
  const h = await startHarness();
  try {
    const account = mixedAccount(h.sim);
    const { run, results, byDomain } = await scan(h);
    assert.deepEqual(
      results.map((r) => r.domain),
      ['broken.fr', 'fresh.fr', 'mxoff.fr', 'mxon.fr', 'ready.fr', 'signing.fr', 'waiting.fr'],
    );

    const signing = byDomain.get('signing.fr')!;
    assert.equal(signing.service, 'exchange/org1/svc1');
    assert.equal(signing.zone, 'signing.fr');
    assert.equal(signing.dkim, 'signing');
    assert.equal(signing.signing, account.signing.selectors[0]);
    assert.equal(signing.spare, 'ready');
    assert.deepEqual(
      signing.selectors.map((s) => [s.selector, s.status, s.dns]),
      [
        [account.signing.selectors[0], 'inProduction', 'ok'],
        [account.signing.selectors[1], 'ready', 'ok'],
      ],
    );
    assert.deepEqual(signing.spf, { state: 'ok', record: 'v=spf1 include:mx.ovh.com ~all' });
    assert.equal(signing.dmarc.policy, 'quarantine');
    assert.equal(signing.next, 'nothing');
    assert.equal(signing.needsSetup, false);

    const ready = byDomain.get('ready.fr')!;
    assert.equal(ready.dkim, 'ready');
    assert.equal(ready.spf.state, 'no_ovh_include');
    assert.equal(ready.dmarc.policy, 'none');
    assert.match(ready.next, /approve signing.*include:mx\.ovh\.com.*p=none/);
    assert.ok(ready.needsSetup);

    const waiting = byDomain.get('waiting.fr')!;
    assert.equal(waiting.service, 'exchange/org1/svc2');
    assert.equal(waiting.zone, null, 'DNS elsewhere');
    assert.equal(waiting.dkim, 'waiting');
    assert.equal(waiting.selectors[0]!.dns, 'wrong');
    assert.match(waiting.selectors[0]!.observation, /has no CNAME record in DNS yet/);

    const fresh = byDomain.get('fresh.fr')!;
    assert.equal(fresh.service, 'pro/emailpro-ab1-1');
    assert.equal(fresh.where, 'Email Pro service emailpro-ab1-1');
    assert.equal(fresh.dkim, 'none');
    assert.deepEqual([fresh.spf.state, fresh.dmarc.state], ['missing', 'missing']);
    assert.match(fresh.next, /^set up DKIM; publish an SPF record .*; publish a DMARC record/);

    const broken = byDomain.get('broken.fr')!;
    assert.equal(broken.dkim, 'signing');
    assert.equal(broken.spare, 'none');
    assert.match(broken.selectors[0]!.observation, /points to somewhere\.else\.example\., expected/);
    assert.match(broken.next, /^fix the DNS record of `.*`: .*points to somewhere\.else\.example/);
    assert.equal(broken.spf.state, 'multiple');
    assert.equal(broken.dmarc.state, 'invalid');
    assert.equal(broken.needsSetup, false, 'a setup does not repair a record someone changed');

    const mxoff = byDomain.get('mxoff.fr')!;
    assert.deepEqual([mxoff.service, mxoff.dkim, mxoff.dmarc.policy], ['mxplan', 'none', 'reject']);
    assert.ok(mxoff.needsSetup);
    const mxon = byDomain.get('mxon.fr')!;
    assert.equal(mxon.dkim, 'signing');
    assert.ok(mxon.signing);
    assert.ok(mxon.selectors.length === 2 && mxon.selectors.every((s) => s.dns === 'ok'));

    // The budget: discovery once, then per domain the dkim list and one read per key (MX Plan: one read); nothing else.
    assert.equal(h.sim.count('GET', /\/dkimSelector$/), 0);
    assert.equal(h.sim.requests.filter((r) => r.method !== 'GET').length, 0, 'a scan changes nothing');
    for (const [domain, calls] of Object.entries(account.floor.perDomain)) {
      const seen = h.sim.requests.filter((r) => r.path.includes(`/${domain}/`) || r.path.endsWith(`/${domain}`));
      assert.equal(seen.length, calls, `${domain}: ${seen.map((r) => r.path).join(', ')}`);
    }
    const perDomainTotal = Object.values(account.floor.perDomain).reduce((a, b) => a + b, 0);
    const apiCalls = h.sim.requests.filter((r) => r.path !== '/auth/time'); // node-ovh's one clock sync
    assert.equal(apiCalls.length, account.floor.discovery + perDomainTotal);

    // Done: the counts and the domains a setup fixes on the parent message, the CSV as a file in the thread.
    const summary = run.facts.summary as { counts: { dkim: Record<string, number>; needsSetup: number } };
    assert.deepEqual(summary.counts.dkim, { signing: 3, ready: 1, waiting: 1, none: 2, changing: 0, error: 0 });
    assert.equal(summary.counts.needsSetup, 4);
    const said = notices(h, run.id);
    const lastParent = said.filter((n) => n.type === 'parent_update').at(-1);
    assert.ok(lastParent?.type === 'parent_update' && lastParent.summary.scan);
    assert.deepEqual(
      lastParent.summary.scan.shown.filter((n) => n.needsSetup).map((n) => n.domain),
      ['fresh.fr', 'mxoff.fr', 'ready.fr', 'waiting.fr'],
    );
    assert.equal(said.filter((n) => n.type === 'file').length, 1);
    const csv = scanCsv(results);
    assert.equal(csv.trim().split('\r\n').length, 8, 'a header and one line per domain');
    assert.match(csv, /^domain,offer_service,zone,dkim,/);
    assert.match(csv, /broken\.fr,pro\/emailpro-ab1-1,broken\.fr,signing,/);
  } finally {
    await h.close();
  }
});

test('progress while it works: the parent message says how many domains are done and the time left at the configured rate', async () => {
  const h = await startHarness({ env: { OVH_RATE_LIMIT_PER_MIN: '30' } });
  try {
    mixedAccount(h.sim);
    const { run } = await scan(h);
    const progress = notices(h, run.id)
      .flatMap((n) => (n.type === 'parent_update' ? [n.summary.detail ?? ''] : []))
      .filter((d) => d.includes('domains,'));
    assert.ok(progress.length >= 1, 'progress was shown');
    assert.match(plainText(progress[0]!), /^0 \/ 7 domains, about a minute left at 30 requests\/min$/);
    assert.match(plainText(progress.at(-1)!), /^7 \/ 7 domains/);
  } finally {
    await h.close();
  }
});

test('an account with no mail service: a clear answer, and what the bot looked at', async () => {
  const h = await startHarness();
  try {
    const { run, results } = await scan(h);
    assert.equal(results.length, 0);
    const text = notices(h, run.id)
      .flatMap((n) => (n.type === 'reply' ? [plainText(n.text)] : []))
      .join('\n');
    assert.match(text, /no domain on an Exchange service, an Email Pro service or an MX Plan: nothing to scan/);
    assert.match(text, /Exchange \(0 services\), Email Pro \(0 services\), MX Plan \(none\)/);
    assert.equal(notices(h, run.id).filter((n) => n.type === 'file').length, 0, 'no empty CSV');
  } finally {
    await h.close();
  }
});

test('one scan at a time; bad input changes nothing', async () => {
  const h = await startHarness();
  try {
    mixedAccount(h.sim);
    const first = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
    const second = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
    assert.equal(second.ok, false);
    assert.match(plainText(second.text), new RegExp(`A scan is already running \\(run #${first.run!.id}`));
    const runs = h.core.store.runs.count();
    const notDone = await h.ops.fleet.setupAll(first.run!.id, REQUESTER, 'C1');
    assert.equal(notDone.ok, false);
    assert.match(plainText(notDone.text), /wait until it is done/);
    const unknown = await h.ops.fleet.setupAll(999, REQUESTER, 'C1');
    assert.match(plainText(unknown.text), /There is no scan #999/);
    assert.equal(h.core.store.runs.count(), runs, 'no run written');
    await h.drive(isState('done'), first.run!.id);
  } finally {
    await h.close();
  }
});

test('a domain whose check keeps meeting trouble goes to the back of the queue, and after its last try is an error: the others are not held up', async () => {
  const h = await startHarness();
  try {
    for (let i = 0; i < 25; i++) {
      const domain = `d${String(i).padStart(2, '0')}.fr`;
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    }
    const troubled = /\/domain\/d00\.fr\/dkim$/;
    h.sim.onRequest = (request) =>
      troubled.test(request.path)
        ? { status: 500, body: { class: 'Server::InternalServerError', message: 'Internal server error' } }
        : undefined;
    const { run, byDomain } = await scan(h);
    assert.equal(byDomain.size, 25, 'every domain has a result');
    const d00 = byDomain.get('d00.fr')!;
    assert.equal(d00.dkim, 'error');
    assert.match(d00.error ?? '', /Internal server error.*the last of several tries/);
    assert.equal(h.sim.count('GET', troubled), DOMAIN_TRIES * 6, 'each try is one read, retried 6 times (the harness)');
    const order = h.sim.requests.filter((r) => /\/domain\/d\d\d\.fr\/dkim$/.test(r.path)).map((r) => r.path);
    assert.ok(
      order.lastIndexOf('/email/exchange/org1/service/svc1/domain/d24.fr/dkim') <
        order.lastIndexOf(order.find((p) => troubled.test(p))!),
      'the others first',
    );
    const warnings = notices(h, run.id).filter((n) => n.type === 'reply' && n.level === 'warning');
    assert.equal(warnings.length, 1, 'the trouble is said once');
    assert.equal((run.facts.summary as { counts: { dkim: { error: number } } }).counts.dkim.error, 1);
  } finally {
    await h.close();
  }
});

test('a long pass of the scan keeps its lease: renewed before each step, so no other instance may take the run midway', async () => {
  const h = await startHarness({ env: { OVH_RATE_LIMIT_PER_MIN: '30' } });
  try {
    bigAccount(h.sim, 150);
    const started = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
    const scanId = started.run!.id;
    const firstAt = h.clock.now();
    let unleased = 0;
    h.sim.onRequest = () => {
      if (!h.core.store.runs.leased(scanId, h.clock.now())) unleased++;
    };
    const run = await h.drive(isState('done', 'failed'), scanId);
    assert.equal(run.state, 'done');
    assert.ok(
      h.clock.now() - firstAt > 5 * 60_000,
      `the scan took longer than one lease (5 min): ${h.clock.now() - firstAt} ms, ${h.sim.requests.length} calls`,
    );
    assert.equal(unleased, 0, 'every OVH call was made under a live lease');
  } finally {
    await h.close();
  }
});

test("a service whose domains OVH refuses to list is named and looked past: the offer's other services are still scanned", async () => {
  const h = await startHarness();
  try {
    mixedAccount(h.sim);
    h.sim.onRequest = (request) =>
      request.path === '/email/exchange/org1/service/svc2/domain'
        ? {
            status: 404,
            body: { class: 'Client::NotFound', message: 'The requested object (service = svc2) does not exist' },
          }
        : undefined;
    const { run, byDomain } = await scan(h);
    assert.ok(!byDomain.has('waiting.fr'), 'the domain of the refused service is not listed');
    for (const domain of ['signing.fr', 'ready.fr', 'fresh.fr', 'broken.fr', 'mxon.fr'])
      assert.ok(byDomain.has(domain), domain);
    const found = notices(h, run.id).find((n) => n.type === 'reply' && plainText(n.text).startsWith('Found'));
    assert.ok(found?.type === 'reply');
    assert.match(
      plainText(found.text),
      /on Exchange \(2 services\) \(not read: org1\/svc2 — The requested object \(service = svc2\) does not exist\)/,
    );
    assert.match(plainText(found.text), /on Email Pro \(1 service\)/);
  } finally {
    await h.close();
  }
});
