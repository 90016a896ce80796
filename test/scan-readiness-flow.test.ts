import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScanResult, ScanSummary } from '../src/domain/scan.ts';
import { countResults, countsLine, scanCsv, scanTableLine } from '../src/domain/scan.ts';
import { plainText } from '../src/domain/text.ts';
import { parentMessage } from '../src/slack/render/messages.ts';
import { mixedAccount, publishKeys } from './fleet-fixtures.ts';
import { type Harness, isState, REQUESTER, startHarness } from './harness.ts';

/**
 * `/dkim scan` judges every domain by the bulk senders' rules (DESIGN §2.8): SPF counted through its includes in DNS
 * (no OVH call), DKIM signing, DMARC present, its policy; the count on the parent message, a column in the CSV.
 */

/** A signing Exchange domain whose SPF is set by the test. */
function signingDomain(h: Harness, domain: string, spf: string) {
  const info = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
  h.sim.setSelectorStatus(domain, info.selectors[0], 'inProduction');
  h.sim.setSelectorStatus(domain, info.selectors[1], 'ready');
  publishKeys(h.sim, domain, info.selectors);
  h.sim.addMailAuthRecords(domain, { spf });
}

async function scan(h: Harness) {
  const started = await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' });
  assert.ok(started.ok, plainText(started.text));
  const run = await h.drive(isState('done', 'failed', 'stalled'), started.run!.id);
  assert.equal(run.state, 'done', run.lastError ?? '');
  const results = h.core.store.scans.results(run.id);
  return { run, results, byDomain: new Map<string, ScanResult>(results.map((r) => [r.domain, r])) };
}

test('the scan counts the domains ready for the bulk senders, says why the others are not, and puts it in the CSV', async () => {
  const h = await startHarness();
  try {
    const account = mixedAccount(h.sim);
    // OVH's include, served where the bot's DNS looks: one look-up, nothing nested.
    h.sim.setExternalRecord('mx.ovh.com', 'TXT', 'v=spf1 ip4:46.105.0.0/16 ip4:178.32.0.0/15 ~all');
    // A chain of includes at another DNS host: 13 look-ups, past RFC 7208's 10.
    h.sim.setExternalRecord(
      '_spf.heavy.example',
      'TXT',
      'v=spf1 include:a.heavy.example include:b.heavy.example include:c.heavy.example ~all',
    );
    for (const name of ['a', 'b', 'c'])
      h.sim.setExternalRecord(`${name}.heavy.example`, 'TXT', 'v=spf1 a mx ip4:192.0.2.0/24 ~all');
    signingDomain(h, 'heavy.fr', 'v=spf1 a mx include:_spf.heavy.example include:mx.ovh.com ~all');
    // Three includes that find nothing: past the 2 void look-ups receivers allow.
    signingDomain(h, 'voids.fr', 'v=spf1 include:gone1.example include:gone2.example include:gone3.example ~all');
    // An include DNS cannot answer (a CNAME loop: SERVFAIL): nothing known wrong, the count unknown.
    h.sim.setExternalRecord('loop1.example', 'CNAME', 'loop2.example');
    h.sim.setExternalRecord('loop2.example', 'CNAME', 'loop1.example');
    signingDomain(h, 'unsure.fr', 'v=spf1 include:loop1.example ~all');

    const { run, results, byDomain } = await scan(h);
    const readiness = (domain: string) => byDomain.get(domain)?.readiness;

    assert.deepEqual(readiness('signing.fr'), {
      verdict: 'ready',
      reasons: [],
      spfLookups: 1,
      spfVoidLookups: 0,
      policy: 'quarantine',
    });
    assert.equal(readiness('mxon.fr')?.verdict, 'ready');
    // Its include finds no SPF record: a permerror at the receivers (RFC 7208 §5.2).
    assert.deepEqual(readiness('ready.fr'), {
      verdict: 'not_ready',
      reasons: ['spf_permerror', 'dkim_not_signing'],
      spfLookups: 1,
      spfVoidLookups: 1,
      policy: 'none',
    });
    assert.deepEqual(readiness('fresh.fr')?.reasons, ['spf_missing', 'dkim_not_signing', 'dmarc_missing']);
    assert.deepEqual(readiness('broken.fr')?.reasons, ['spf_multiple', 'dkim_record_wrong', 'dmarc_invalid']);
    assert.deepEqual(readiness('waiting.fr')?.reasons, ['dkim_not_signing']);
    assert.deepEqual([readiness('mxoff.fr')?.reasons, readiness('mxoff.fr')?.policy], [['dkim_not_signing'], 'reject']);
    assert.deepEqual(readiness('heavy.fr'), {
      verdict: 'not_ready',
      reasons: ['spf_over_limit'],
      spfLookups: 13,
      spfVoidLookups: 0,
      policy: 'quarantine',
    });
    assert.match(byDomain.get('heavy.fr')?.next ?? '', /cut SPF to 10 DNS look-ups \(it needs 13: receivers fail it\)/);
    assert.deepEqual(readiness('voids.fr')?.reasons, ['spf_void_lookups', 'spf_permerror']);
    assert.deepEqual(readiness('unsure.fr'), { verdict: 'unknown', reasons: ['spf_uncounted'], policy: 'quarantine' });
    assert.equal(byDomain.get('unsure.fr')?.spf.state, 'no_ovh_include', 'the record itself was read');

    // Counting look-ups is DNS only: the OVH reads are those of the scan without it.
    const perDomain = Object.values(account.floor.perDomain).reduce((a, b) => a + b, 0);
    const apiCalls = h.sim.requests.filter((r) => r.path !== '/auth/time');
    assert.equal(
      apiCalls.length,
      account.floor.discovery + perDomain + 3 * 3,
      'heavy.fr, voids.fr, unsure.fr: the list, two keys',
    );
    assert.equal(h.sim.requests.filter((r) => r.method !== 'GET').length, 0, 'a scan changes nothing');

    // The count, on the run's summary and its parent message.
    const summary = run.facts.summary as ScanSummary;
    assert.deepEqual(summary.counts.readiness, { ready: 2, not_ready: 7, unknown: 1 });
    const line =
      "Bulk-sender rules (SPF, DKIM, DMARC): 2 ready · 7 not ready (1 no SPF, 1 several SPF records, 1 SPF over 10 DNS look-ups, 1 SPF over 2 look-ups that find nothing, 2 SPF that receivers fail on, 4 DKIM not signing, 1 the signing key's DNS record is wrong, 1 no DMARC, 1 DMARC without a valid p= policy) · 1 unknown";
    assert.equal(countsLine(summary.counts).split('\n')[2], line);
    assert.equal(plainText(run.facts.lastObservation as string).split('\n')[2], line);
    const parent = h.core.store.outbox
      .forRun(run.id)
      .map((m) => m.notice)
      .filter((n) => n.type === 'parent_update')
      .at(-1);
    assert.ok(parent?.type === 'parent_update' && parent.summary.scan);
    const shown = JSON.stringify(parentMessage(parent.summary).blocks);
    assert.match(shown, /Bulk-sender rules \(SPF, DKIM, DMARC\): 2 ready · 7 not ready/);
    assert.match(shown, /\*signing\.fr\*[^•]*DMARC p=quarantine · bulk senders: ready/);
    assert.match(shown, /\*heavy\.fr\*[^•]*bulk senders: not ready \(SPF needs 13 DNS look-ups \(10 at most\)\)/);
    assert.match(shown, /\*fresh\.fr\*[^•]*bulk senders: not ready \(no SPF, DKIM not signing, no DMARC\)/);

    // The CSV the notifier uploads: the verdict, why, and SPF's look-ups for every domain.
    const [header, ...rows] = scanCsv(results).trim().split('\r\n');
    assert.match(header ?? '', /,next,bulk_sender,bulk_sender_why,spf_lookups$/);
    assert.equal(rows.length, 10);
    const row = (domain: string) => rows.find((r) => r.startsWith(`${domain},`)) ?? '';
    assert.match(row('signing.fr'), /,ready,,1$/);
    assert.match(row('heavy.fr'), /,not_ready,SPF needs 13 DNS look-ups \(10 at most\),13$/);
    assert.match(row('fresh.fr'), /,not_ready,"no SPF, DKIM not signing, no DMARC",$/);
    assert.match(row('unsure.fr'), /,unknown,SPF's look-ups not countable in DNS,$/);
    assert.match(row('mxoff.fr'), /,reject,[^,]*,not_ready,DKIM not signing,1$/);

    // The CLI's table: readiness before what to do next.
    const cli = scanTableLine(byDomain.get('heavy.fr')!).split('\t');
    assert.deepEqual(cli.slice(3, 6), [
      'SPF ok (13 look-ups)',
      'DMARC quarantine',
      'bulk senders: not ready (SPF needs 13 DNS look-ups (10 at most))',
    ]);
  } finally {
    await h.close();
  }
});

test('results stored before readiness was counted still render: unknown in the counts, the CSV and the table', async () => {
  const h = await startHarness();
  try {
    mixedAccount(h.sim);
    const { run, results } = await scan(h);
    // As an older bot stored them: the same results, without readiness.
    const older = results.map(({ readiness: _, ...r }) => r as ScanResult);
    h.core.store.scans.record(
      run.id,
      older.map((result, position) => ({ position, result })),
    );
    const stored = h.core.store.scans.results(run.id);
    assert.ok(stored.every((r) => r.readiness === undefined));
    const rows = scanCsv(stored).trim().split('\r\n').slice(1);
    assert.ok(rows.every((r) => r.endsWith(',unknown,not checked (scanned before the bot counted it),')));
    assert.match(scanTableLine(stored[0]!), /\tbulk senders: unknown \(not checked/);
    const counts = countResults(stored);
    assert.deepEqual(counts.readiness, { ready: 0, not_ready: 0, unknown: 7 });
    assert.match(countsLine(counts), /Bulk-sender rules \(SPF, DKIM, DMARC\): 0 ready · 0 not ready · 7 unknown$/);
  } finally {
    await h.close();
  }
});
