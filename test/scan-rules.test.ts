import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyedState, mxPlanState, readDmarc, readSpf, type ScanResult, scanCsv } from '../src/domain/scan.ts';

/** The scan's rules, pure: what SPF, DMARC and OVH's statuses say, and the CSV. */

test('SPF: one v=spf1 record at the apex, which for an OVH offer includes mx.ovh.com', () => {
  assert.deepEqual(readSpf([]), { state: 'missing' });
  assert.deepEqual(readSpf(['google-site-verification=abc']), { state: 'missing' });
  assert.equal(readSpf(['v=spf1 include:mx.ovh.com ~all']).state, 'ok');
  assert.equal(readSpf(['v=spf1 a mx +include:mx.ovh.com -all']).state, 'ok');
  assert.equal(readSpf(['v=spf1 include:mx.ovh.com.evil.example ~all']).state, 'no_ovh_include');
  assert.equal(readSpf(['v=spf1 include:_spf.google.com ~all']).state, 'no_ovh_include');
  assert.equal(readSpf(['v=spf1 -all', 'v=spf1 include:mx.ovh.com ~all']).state, 'multiple');
  assert.equal(readSpf(['v=spf10 nonsense']).state, 'missing', 'v=spf10 is not SPF');
});

test('DMARC: one v=DMARC1 record with a p= policy', () => {
  assert.deepEqual(readDmarc([]), { state: 'missing' });
  assert.deepEqual(readDmarc(['v=DMARC1; p=reject; rua=mailto:d@x.fr']), {
    state: 'ok',
    policy: 'reject',
    record: 'v=DMARC1; p=reject; rua=mailto:d@x.fr',
  });
  assert.equal(readDmarc(['v=DMARC1;p=Quarantine']).policy, 'quarantine');
  assert.equal(readDmarc(['v=DMARC1; sp=none']).state, 'invalid', 'sp= is not p=');
  assert.equal(readDmarc(['v=DMARC1; p=maybe']).state, 'invalid');
  assert.equal(readDmarc(['v=DMARC1; p=none', 'v=DMARC1; p=reject']).state, 'multiple');
});

test("OVH's statuses as one DKIM state", () => {
  assert.equal(keyedState([]), 'none');
  assert.equal(keyedState(['ready', 'inProduction']), 'signing');
  assert.equal(keyedState(['ready', 'enabling']), 'changing');
  assert.equal(keyedState(['ready', 'todo']), 'ready');
  assert.equal(keyedState(['waitingRecord', 'todo']), 'waiting');
  assert.deepEqual(['disabled', 'toConfigure', 'modifying', 'enabled', 'error'].map(mxPlanState), [
    'none',
    'waiting',
    'changing',
    'signing',
    'error',
  ]);
});

test('the CSV: RFC 4180 quoting, and a cell a spreadsheet would run as a formula kept as text; a result stored before readiness was counted is unknown', () => {
  const result: ScanResult = {
    domain: 'x.fr',
    service: 'pro/emailpro-1',
    where: 'Email Pro service emailpro-1',
    zone: null,
    dkim: 'none',
    selectors: [],
    spf: { state: 'no_ovh_include', record: '=HYPERLINK("http://evil.example","click")' },
    dmarc: { state: 'invalid', record: 'v=DMARC1, rua="x"' },
    next: 'set up DKIM; add `include:mx.ovh.com` to the SPF record',
    needsSetup: true,
  };
  const [header, line] = scanCsv([result]).split('\r\n');
  assert.equal(
    header,
    'domain,offer_service,zone,dkim,signing_selector,spare,selectors,spf,spf_record,dmarc,dmarc_policy,next,bulk_sender,bulk_sender_why,spf_lookups',
  );
  assert.equal(
    line,
    `x.fr,pro/emailpro-1,elsewhere,none,,,,no_ovh_include,"'=HYPERLINK(""http://evil.example"",""click"")",invalid,,set up DKIM; add include:mx.ovh.com to the SPF record,unknown,not checked (scanned before the bot counted it),`,
  );
});
