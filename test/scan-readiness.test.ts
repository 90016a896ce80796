import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '../src/domain/notices.ts';
import {
  bulkReadiness,
  countReadiness,
  type Readiness,
  type ReadinessFacts,
  readinessWords,
  type SpfCount,
} from '../src/domain/readiness.ts';
import {
  countResults,
  countsLine,
  nextSteps,
  readDmarc,
  readSpf,
  type ScanResult,
  type ScanSummary,
  scanCsv,
  summarize,
} from '../src/domain/scan.ts';
import { countLookups } from '../src/domain/spf.ts';
import { parentMessage } from '../src/slack/render/messages.ts';

/** The bulk senders' rules (DESIGN §2.8), pure: each reason a domain is not ready, the counts, the CSV. */

/** A domain that meets every rule: signing, one SPF record within its look-ups, one DMARC record. */
function ready(changes: Partial<ReadinessFacts> = {}): ReadinessFacts {
  return {
    dkim: 'signing',
    signing: 'ovhex1-selector1',
    selectors: [
      { selector: 'ovhex1-selector1', dns: 'ok' },
      { selector: 'ovhex1-selector2', dns: 'ok' },
    ],
    spf: readSpf(['v=spf1 include:mx.ovh.com ~all']),
    dmarc: readDmarc(['v=DMARC1; p=quarantine']),
    ...changes,
  };
}

const few: SpfCount = { count: 2, voidLookups: 0 };

/** A resolver over a fixed set of TXT records, as `DnsChecker.txt` answers: [] for a name without any. */
function txtZone(records: Record<string, string>) {
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    const value = records[name];
    return value === undefined ? [] : [value];
  };
  return { resolve, asked };
}

test('ready: SPF present within 10 look-ups, DKIM signing, DMARC present, its policy kept', () => {
  assert.deepEqual(bulkReadiness(ready(), few), {
    verdict: 'ready',
    reasons: [],
    spfLookups: 2,
    spfVoidLookups: 0,
    policy: 'quarantine',
  });
  for (const p of ['none', 'quarantine', 'reject'] as const) {
    const r = bulkReadiness(ready({ dmarc: readDmarc([`v=DMARC1; p=${p}`]) }), few);
    assert.deepEqual([r.verdict, r.policy], ['ready', p], 'p=none is enough for the bulk senders');
  }
  const withoutOvh = bulkReadiness(ready({ spf: readSpf(['v=spf1 include:_spf.google.com -all']) }), few);
  assert.equal(withoutOvh.verdict, 'ready', "an SPF record without OVH's include is still an SPF record");
  assert.equal(readinessWords(withoutOvh), 'ready');
});

test('each rule not met is a reason, said in words', () => {
  const cases: [string, ReadinessFacts, SpfCount | undefined, string[], string][] = [
    ['no SPF', ready({ spf: readSpf([]) }), undefined, ['spf_missing'], 'not ready (no SPF)'],
    [
      'two SPF records',
      ready({ spf: readSpf(['v=spf1 -all', 'v=spf1 mx -all']) }),
      undefined,
      ['spf_multiple'],
      'not ready (several SPF records)',
    ],
    [
      'SPF over 10 look-ups',
      ready(),
      { count: 12, voidLookups: 0 },
      ['spf_over_limit'],
      'not ready (SPF needs 12 DNS look-ups (10 at most))',
    ],
    [
      'SPF with 3 void look-ups',
      ready(),
      { count: 3, voidLookups: 3 },
      ['spf_void_lookups'],
      'not ready (SPF has 3 look-ups that find nothing (2 at most))',
    ],
    ['no DMARC', ready({ dmarc: readDmarc([]) }), few, ['dmarc_missing'], 'not ready (no DMARC)'],
    [
      'DMARC without a policy',
      ready({ dmarc: readDmarc(['v=DMARC1; rua=mailto:d@x.fr']) }),
      few,
      ['dmarc_invalid'],
      'not ready (DMARC without a valid p= policy)',
    ],
    [
      'two DMARC records',
      ready({ dmarc: readDmarc(['v=DMARC1; p=none', 'v=DMARC1; p=reject']) }),
      few,
      ['dmarc_multiple'],
      'not ready (several DMARC records)',
    ],
    [
      "signing, but the key's record points elsewhere",
      ready({
        selectors: [
          { selector: 'ovhex1-selector1', dns: 'wrong' },
          { selector: 'ovhex1-selector2', dns: 'ok' },
        ],
      }),
      few,
      ['dkim_record_wrong'],
      "not ready (the signing key's DNS record is wrong)",
    ],
  ];
  for (const [why, facts, lookups, reasons, words] of cases) {
    const r = bulkReadiness(facts, lookups);
    assert.equal(r.verdict, 'not_ready', why);
    assert.deepEqual(r.reasons, reasons, why);
    assert.equal(readinessWords(r), words, why);
  }
  for (const dkim of ['none', 'waiting', 'ready', 'changing']) {
    const r = bulkReadiness(ready({ dkim, selectors: [] }), few);
    assert.deepEqual([r.verdict, r.reasons], ['not_ready', ['dkim_not_signing']], dkim);
  }
  const spare = ready({ selectors: [{ selector: 'ovhex1-selector2', dns: 'wrong' }] });
  assert.equal(bulkReadiness(spare, few).verdict, 'ready', "the spare's record does not sign");
});

test('every reason at once, in order; nothing known wrong but something unread is unknown, else not ready', () => {
  const none = bulkReadiness({ dkim: 'none', selectors: [], spf: readSpf([]), dmarc: readDmarc([]) });
  assert.deepEqual(none.reasons, ['spf_missing', 'dkim_not_signing', 'dmarc_missing']);
  assert.equal(readinessWords(none), 'not ready (no SPF, DKIM not signing, no DMARC)');
  assert.equal(none.policy, undefined);

  const unread: [string, ReadinessFacts, SpfCount | undefined, string][] = [
    ['SPF unreadable', ready({ spf: { state: 'error' } }), undefined, 'spf_unreadable'],
    ['look-ups cut short', ready(), { error: 'DNS look-up of a.example failed (ETIMEOUT)' }, 'spf_uncounted'],
    ['no count at all', ready(), undefined, 'spf_uncounted'],
    ['DKIM unreadable at OVH', ready({ dkim: 'error', selectors: [] }), few, 'dkim_unreadable'],
    ['DMARC unreadable', ready({ dmarc: { state: 'error' } }), few, 'dmarc_unreadable'],
  ];
  for (const [why, facts, lookups, reason] of unread) {
    const r = bulkReadiness(facts, lookups);
    assert.deepEqual([r.verdict, r.reasons], ['unknown', [reason]], why);
  }
  const both = bulkReadiness(ready({ spf: { state: 'error' }, dmarc: readDmarc([]) }));
  assert.deepEqual([both.verdict, both.reasons], ['not_ready', ['spf_unreadable', 'dmarc_missing']]);
  assert.equal(readinessWords(undefined), 'unknown (not checked (scanned before the bot counted it))');
});

test("SPF's look-ups are counted through includes and redirects by DNS, and 11 are too many", async () => {
  const dns = txtZone({
    '_spf.big.example': 'v=spf1 include:a.big.example include:b.big.example include:c.big.example ~all',
    'a.big.example': 'v=spf1 a mx ~all',
    'b.big.example': 'v=spf1 a mx ~all',
    'c.big.example': 'v=spf1 redirect=d.big.example',
    'd.big.example': 'v=spf1 ip4:192.0.2.0/24 -all',
    'mx.ovh.com': 'v=spf1 ip4:46.105.0.0/16 ~all',
  });
  const record = 'v=spf1 include:_spf.big.example include:mx.ovh.com mx ~all';
  const counted = await countLookups(record, dns.resolve, 'x.fr');
  // include _spf (1) + its three includes (3) + a, mx twice (4) + c's redirect (1) + include ovh (1) + mx (1)
  assert.equal(counted.count, 11);
  assert.ok(dns.asked.includes('d.big.example'), 'the redirect was followed');
  const r = bulkReadiness(ready({ spf: readSpf([record]) }), counted);
  assert.deepEqual([r.verdict, r.reasons, r.spfLookups], ['not_ready', ['spf_over_limit'], 11]);
  assert.equal(readinessWords(r), 'not ready (SPF needs 11 DNS look-ups (10 at most))');

  const within = await countLookups('v=spf1 include:a.big.example include:mx.ovh.com ~all', dns.resolve, 'x.fr');
  assert.equal(within.count, 4);
  assert.equal(bulkReadiness(ready(), within).verdict, 'ready');

  const voids = await countLookups(
    'v=spf1 include:gone1.example include:gone2.example include:gone3.example -all',
    dns.resolve,
    'x.fr',
  );
  assert.deepEqual(bulkReadiness(ready(), voids).reasons, ['spf_void_lookups', 'spf_permerror']);
});

/** A scan result as the scan writes it (readiness judged from its facts), or as stored before (without). */
function result(domain: string, facts: ReadinessFacts, lookups?: SpfCount, stored = false): ScanResult {
  const partial = {
    domain,
    service: 'exchange/org1/svc1',
    where: 'Exchange service org1/svc1',
    zone: domain,
    dkim: facts.dkim as ScanResult['dkim'],
    ...(facts.signing ? { signing: facts.signing } : {}),
    selectors: facts.selectors.map((s) => ({
      ...s,
      status: 'inProduction',
      observation: '',
    })) as ScanResult['selectors'],
    spf: facts.spf as ScanResult['spf'],
    dmarc: facts.dmarc as ScanResult['dmarc'],
    ...(stored ? {} : { readiness: bulkReadiness(facts, lookups) }),
  };
  return { ...partial, ...nextSteps(partial) };
}

test('the next step of an SPF record past its look-ups says the count', () => {
  const r = result('big.fr', ready(), { count: 14, voidLookups: 0 });
  assert.match(r.next, /^cut SPF to 10 DNS look-ups \(it needs 14: receivers fail it\)$/);
  assert.equal(result('fine.fr', ready(), few).next, 'nothing');
});

test('the counts, the summary line and the CSV columns; results and summaries stored before readiness still read', () => {
  const results = [
    result('a.fr', ready(), few),
    result('b.fr', ready({ dmarc: readDmarc(['v=DMARC1; p=reject']) }), few),
    result('c.fr', ready({ dkim: 'none', selectors: [], dmarc: readDmarc([]) }), few),
    result('d.fr', ready(), { count: 12, voidLookups: 0 }),
    result('e.fr', ready({ dmarc: { state: 'error' } }), few),
    result('old.fr', ready(), few, true),
  ];
  assert.equal(results[5]?.readiness, undefined);
  const counts = countResults(results);
  assert.deepEqual(counts.readiness, { ready: 2, not_ready: 2, unknown: 2 });
  assert.deepEqual(counts.notReadyBecause, { dkim_not_signing: 1, dmarc_missing: 1, spf_over_limit: 1 });
  assert.equal(
    countsLine(counts).split('\n')[2],
    'Bulk-sender rules (SPF, DKIM, DMARC): 2 ready · 2 not ready (1 SPF over 10 DNS look-ups, 1 DKIM not signing, 1 no DMARC) · 2 unknown',
  );
  assert.deepEqual(countReadiness([]), { readiness: { ready: 0, not_ready: 0, unknown: 0 }, notReadyBecause: {} });

  const [header, ...lines] = scanCsv(results).trim().split('\r\n');
  assert.match(header ?? '', /,next,bulk_sender,bulk_sender_why,spf_lookups$/);
  const tail = (domain: string) => {
    const line = lines.find((l) => l.startsWith(`${domain},`)) ?? '';
    return line.split(',').slice(-3).join(',');
  };
  assert.equal(tail('a.fr'), 'ready,,2');
  assert.equal(tail('d.fr'), 'not_ready,SPF needs 12 DNS look-ups (10 at most),12');
  assert.equal(tail('e.fr'), 'unknown,DMARC not readable in DNS,2');
  assert.equal(tail('old.fr'), 'unknown,not checked (scanned before the bot counted it),');
  assert.match(lines.find((l) => l.startsWith('c.fr,')) ?? '', /,not_ready,"DKIM not signing, no DMARC",2$/);

  // A summary stored before readiness was counted: no readiness line, no readiness on its lines, no crash.
  const fresh = summarize(results);
  const { readiness: _r, notReadyBecause: _n, ...oldCounts } = fresh.counts;
  const old: ScanSummary = {
    ...fresh,
    counts: oldCounts,
    shown: fresh.shown.map(({ readiness: _x, ...line }) => line),
  };
  assert.equal(countsLine(old.counts).split('\n').length, 2);
  const oldText = JSON.stringify(parentMessage(summaryOf(old)).blocks);
  assert.doesNotMatch(oldText, /Bulk-sender|bulk senders/);
  const newText = JSON.stringify(parentMessage(summaryOf(fresh)).blocks);
  assert.match(newText, /Bulk-sender rules \(SPF, DKIM, DMARC\): 2 ready · 2 not ready/);
  assert.match(newText, /\*a\.fr\*.*· DMARC p=quarantine · bulk senders: ready/);
  assert.match(newText, /\*c\.fr\*.*no DKIM · bulk senders: not ready \(DKIM not signing, no DMARC\) — set up DKIM/);
});

function summaryOf(scan: ScanSummary): RunSummary {
  return {
    runId: 3,
    kind: 'scan',
    domain: 'the whole account',
    state: 'done',
    requestedBy: 'U1',
    nextCheckAt: null,
    lastError: null,
    scan,
  };
}

test('a readiness stored as JSON reads back the same', () => {
  const r: Readiness = bulkReadiness(ready(), { count: 11, voidLookups: 1 });
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('SPF that receivers fail on is not ready; one the count could not follow is unknown', async () => {
  const zones: Record<string, string[]> = { 'two.example': ['v=spf1 -all', 'v=spf1 ~all'] };
  const resolve = async (name: string) => zones[name] ?? [];
  const broken = await countLookups('v=spf1 include:nospf.example include:two.example -all', resolve, 'x.fr');
  assert.equal(broken.permerror, true);
  const failing = bulkReadiness(ready(), broken);
  assert.equal(failing.verdict, 'not_ready');
  assert.ok(failing.reasons.includes('spf_permerror'));
  const macro = await countLookups('v=spf1 include:%{d}.spf.example -all', resolve, 'x.fr');
  assert.deepEqual([macro.permerror, macro.unfollowed], [false, 1]);
  const unfollowed = bulkReadiness(ready(), macro);
  assert.deepEqual([unfollowed.verdict, unfollowed.reasons], ['unknown', ['spf_uncounted']]);
});
