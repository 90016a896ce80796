import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainText } from '../src/domain/text.ts';
import { approveDmarc, card, dmarcHarness, RUA } from './dmarc-fixtures.ts';
import { type Harness, isState, REQUESTER, startHarness } from './harness.ts';
import { said, setUp } from './lifecycle-fixtures.ts';

/**
 * `/dkim dmarc` (DESIGN §2.8) through the real core against the OVH simulator and its DNS: one card with every SPF
 * and DMARC change as before → after, the records written once as TXT (an existing record keeps its type), the zone
 * refreshed and DNS checked; what must not be fixed silently is said; a zone elsewhere gets zone-file lines.
 */

const records = (h: Harness, zone: string, subDomain: string) =>
  h.sim
    .zoneRecords(zone)
    .filter((r) => r.subDomain === subDomain && ['TXT', 'SPF', 'DMARC'].includes(r.fieldType))
    .map((r) => [r.fieldType, r.target]);

test('a signing domain with neither SPF nor DMARC: one card, both written as TXT once, the zone refreshed, DNS checked', async () => {
  const h = await dmarcHarness();
  try {
    await setUp(h, 'plain.fr');
    const started = await h.ops.dmarc({ domain: 'plain.fr', user: REQUESTER, channel: 'C1' });
    assert.ok(started.ok, plainText(started.text));
    const run = await h.drive(isState('awaiting_approval', 'failed'), started.run!.id);
    assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
    const shown = card(h, run.id);
    assert.equal(plainText(shown.title), 'Write the SPF and DMARC records of plain.fr?');
    const lines = shown.lines.map(plainText).join('\n');
    assert.match(lines, /SPF at `plain\.fr`: none → `v=spf1 include:mx\.ovh\.com ~all`/);
    assert.match(
      lines,
      new RegExp(`DMARC at \`_dmarc\\.plain\\.fr\`: none → \`v=DMARC1; p=none; rua=mailto:${RUA}; adkim=r; aspf=r\``),
    );
    assert.match(lines, /SPF after the change: 1 DNS look-up of 10/);
    assert.equal(records(h, 'plain.fr', '').length, 0, 'nothing written before the approval');

    const writesBefore = h.sim.count('POST', /\/record$/);
    await approveDmarc(h, run.id);
    const done = await h.drive(isState('done', 'failed'), run.id);
    assert.equal(done.state, 'done', done.lastError ?? '');
    assert.deepEqual(records(h, 'plain.fr', ''), [['TXT', '"v=spf1 include:mx.ovh.com ~all"']]);
    assert.deepEqual(records(h, 'plain.fr', '_dmarc'), [
      ['TXT', `"v=DMARC1; p=none; rua=mailto:${RUA}; adkim=r; aspf=r"`],
    ]);
    assert.equal(h.sim.count('POST', /\/record$/) - writesBefore, 2, 'two records, each written once');
    assert.ok(h.sim.count('POST', /\/refresh$/) >= 1);
    assert.match(said(h, run.id), /SPF and DMARC of plain\.fr are in DNS \(p=none\)/);
    const row = h.core.store.dmarcDomains.get('plain.fr');
    assert.equal(row?.policy, 'none');
    assert.equal(row?.spf, 'v=spf1 include:mx.ovh.com ~all');
  } finally {
    await h.close();
  }
});

test('the watch checks the SPF and DMARC records the bot wrote: a break said once, its repair once', async () => {
  const h = await dmarcHarness();
  try {
    await setUp(h, 'kept.fr');
    const run = (await h.ops.dmarc({ domain: 'kept.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    await approveDmarc(h, run.id);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    assert.deepEqual((await h.core.watcher.checkAll()).records, { checked: 1, broken: 0, repaired: 0 });

    const dmarc = h.sim.zoneRecords('kept.fr').find((r) => r.subDomain === '_dmarc');
    assert.ok(dmarc);
    h.sim.deleteZoneRecord('kept.fr', dmarc.id);
    assert.equal((await h.core.watcher.checkAll()).records.broken, 1);
    assert.equal((await h.core.watcher.checkAll()).records.broken, 0, 'said once');
    assert.match(said(h, run.id), /SPF\/DMARC check of kept\.fr: _dmarc\.kept\.fr has no DMARC record any more\./);
    h.sim.addZoneRecord('kept.fr', { fieldType: 'TXT', subDomain: '_dmarc', target: dmarc.target });
    h.sim.refreshZone('kept.fr');
    assert.equal((await h.core.watcher.checkAll()).records.repaired, 1);
    assert.equal((await h.core.watcher.checkAll()).records.repaired, 0);
  } finally {
    await h.close();
  }
});

test('an SPF record of OVH type with other includes keeps them and its type; a DMARC record without our rua gets it', async () => {
  const h = await dmarcHarness();
  try {
    await setUp(h, 'mixed.fr');
    h.sim.setExternalRecord('_spf.google.com', 'TXT', 'v=spf1 ip4:35.190.247.0/24 ~all');
    h.sim.addZoneRecord('mixed.fr', {
      fieldType: 'SPF',
      subDomain: '',
      target: '"v=spf1 include:_spf.google.com -all"',
    });
    h.sim.addZoneRecord('mixed.fr', { fieldType: 'TXT', subDomain: '', target: '"google-site-verification=abc"' });
    h.sim.addZoneRecord('mixed.fr', {
      fieldType: 'TXT',
      subDomain: '_dmarc',
      target: '"v=DMARC1; p=none; rua=mailto:own@mixed.fr"',
    });
    h.sim.refreshZone('mixed.fr');
    const run = (await h.ops.dmarc({ domain: 'mixed.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), run.id);
    const lines = card(h, run.id).lines.map(plainText).join('\n');
    assert.match(
      lines,
      /SPF at `mixed\.fr`: `v=spf1 include:_spf\.google\.com -all` → `v=spf1 include:_spf\.google\.com include:mx\.ovh\.com -all`/,
    );
    assert.match(
      lines,
      new RegExp(
        `\`v=DMARC1; p=none; rua=mailto:own@mixed\\.fr\` → \`v=DMARC1; p=none; rua=mailto:own@mixed\\.fr,mailto:${RUA}\``,
      ),
    );
    await approveDmarc(h, run.id);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    assert.deepEqual(records(h, 'mixed.fr', ''), [
      ['SPF', '"v=spf1 include:_spf.google.com include:mx.ovh.com -all"'],
      ['TXT', '"google-site-verification=abc"'],
    ]);
  } finally {
    await h.close();
  }
});

test('an SPF past ten look-ups with the include is refused with the count; two SPF records are said, never fixed', async () => {
  const h = await dmarcHarness();
  try {
    await setUp(h, 'heavy.fr');
    const includes = Array.from({ length: 10 }, (_, i) => `include:s${i}.example.net`).join(' ');
    for (let i = 0; i < 10; i++) h.sim.setExternalRecord(`s${i}.example.net`, 'TXT', 'v=spf1 ip4:192.0.2.1 ~all');
    h.sim.addZoneRecord('heavy.fr', { fieldType: 'TXT', subDomain: '', target: `"v=spf1 ${includes} ~all"` });
    h.sim.refreshZone('heavy.fr');
    const heavy = (await h.ops.dmarc({ domain: 'heavy.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), heavy.id);
    const lines = card(h, heavy.id).lines.map(plainText).join('\n');
    assert.match(lines, /SPF: adding include:mx\.ovh\.com would need 11 DNS look-ups of 10, past the limit/);
    assert.doesNotMatch(lines, /SPF at `heavy\.fr`/, 'no SPF change on the card');
    assert.match(lines, /DMARC at `_dmarc\.heavy\.fr`: none →/);

    await setUp(h, 'twice.fr');
    h.sim.addZoneRecord('twice.fr', { fieldType: 'TXT', subDomain: '', target: '"v=spf1 include:mx.ovh.com ~all"' });
    h.sim.addZoneRecord('twice.fr', { fieldType: 'TXT', subDomain: '', target: '"v=spf1 a ~all"' });
    h.sim.refreshZone('twice.fr');
    const twice = (await h.ops.dmarc({ domain: 'twice.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), twice.id);
    const said2 = card(h, twice.id).lines.map(plainText).join('\n');
    assert.match(said2, /twice\.fr has 2 SPF records, which every receiver treats as an error/);
    await approveDmarc(h, twice.id);
    assert.equal((await h.drive(isState('done', 'failed'), twice.id)).state, 'done');
    assert.equal(records(h, 'twice.fr', '').length, 2, 'both SPF records left as they were');
    assert.equal(h.core.store.dmarcDomains.get('twice.fr')?.spf, null, 'not watched as the bot’s');
  } finally {
    await h.close();
  }
});

test('a zone elsewhere: after the approval, zone-file lines are handed over and DNS is awaited; then done', async () => {
  const h = await dmarcHarness();
  try {
    // Signing at OVH, set up by hand: the bot has no watch on it and finds where it is.
    const { selectors } = h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'outside.fr', zone: false });
    h.sim.setSelectorStatus('outside.fr', selectors[0]!, 'inProduction');

    const run = (await h.ops.dmarc({ domain: 'outside.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval', 'failed'), run.id);
    assert.match(card(h, run.id).lines.map(plainText).join('\n'), /the bot gives the zone-file lines/);
    await approveDmarc(h, run.id);
    await h.drive(isState('verifying'), run.id);
    const handed = h.core.store.outbox
      .forRun(run.id)
      .map((m) => m.notice)
      .find((n) => n.type === 'records');
    assert.ok(handed && handed.type === 'records');
    assert.deepEqual(
      handed.records.map((r) => [r.name, r.type, r.target]),
      [
        ['outside.fr.', 'TXT', 'v=spf1 include:mx.ovh.com ~all'],
        ['_dmarc.outside.fr.', 'TXT', `v=DMARC1; p=none; rua=mailto:${RUA}; adkim=r; aspf=r`],
      ],
    );
    h.sim.setExternalRecord('outside.fr', 'TXT', 'v=spf1 include:mx.ovh.com ~all');
    h.sim.setExternalRecord('_dmarc.outside.fr', 'TXT', `v=DMARC1; p=none; rua=mailto:${RUA}; adkim=r; aspf=r`);
    assert.equal((await h.drive(isState('done', 'failed'), run.id)).state, 'done');
    assert.equal(h.sim.count('POST', /\/domain\/zone\/outside\.fr/), 0, 'nothing written at OVH');
  } finally {
    await h.close();
  }
});

test('refused before anything: no DMARC_RUA, a domain that does not sign, bad input', async () => {
  const h = await startHarness();
  try {
    const before = h.sim.requests.length;
    const noRua = await h.ops.dmarc({ domain: 'x.fr', user: REQUESTER, channel: 'C1' });
    assert.match(plainText(noRua.text), /DMARC_RUA is not set/);
    const bad = await h.ops.dmarc({ domain: 'not a domain', user: REQUESTER, channel: 'C1' });
    assert.equal(bad.ok, false);
    assert.equal(h.core.store.runs.count(), 0);
    assert.equal(h.sim.requests.length, before, 'no OVH call');
  } finally {
    await h.close();
  }
  const h2 = await dmarcHarness();
  try {
    h2.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'unsigned.fr', zone: true });
    const run = (await h2.ops.dmarc({ domain: 'unsigned.fr', user: REQUESTER, channel: 'C1' })).run!;
    const ended = await h2.drive(isState('failed', 'awaiting_approval'), run.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.lastError ?? '', /does not sign with DKIM at OVH/);
    assert.equal(h2.sim.count('POST', /\/record$/), 0);
  } finally {
    await h2.close();
  }
});
