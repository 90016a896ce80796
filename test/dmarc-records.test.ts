import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  findDmarc,
  initialDmarc,
  readPolicy,
  relaxedAligned,
  withPolicy,
  withRua,
} from '../src/domain/dmarc-record.ts';
import { readSpf } from '../src/domain/scan.ts';
import { countLookups, findSpf, OVH_DEFAULT_SPF, parseSpf, planSpf, withInclude } from '../src/domain/spf.ts';

/** A resolver over a fixed zone, as `DnsChecker.txt` answers: a name's TXT strings, [] when it has none. */
function zone(records: Record<string, string | string[]>) {
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    const value = records[name];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  return { resolve, asked };
}

test('SPF: none, one, or two records (a permerror, said and never fixed)', () => {
  assert.deepEqual(findSpf(['v=DKIM1; p=abc', 'google-site-verification=x']), { kind: 'none' });
  assert.deepEqual(findSpf(['v=spf10 -all']), { kind: 'none' });
  assert.deepEqual(findSpf(['  v=spf1 mx -all ']), { kind: 'one', record: 'v=spf1 mx -all' });
  const two = findSpf(['v=spf1 mx -all', 'V=SPF1 include:mx.ovh.com ~all']);
  assert.equal(two.kind, 'permerror');
});

test('SPF terms: qualifiers, values, CIDRs, modifiers, unknown terms', () => {
  const terms = parseSpf('v=spf1 -a:mail.x.fr/24 mx/26 ~include:_spf.X.fr ip6:2001:db8::/32 redirect=_spf.y.fr foo');
  assert.deepEqual(
    terms.map(({ kind, qualifier, name, value }) => [kind, qualifier, name, value]),
    [
      ['mechanism', '-', 'a', 'mail.x.fr'],
      ['mechanism', '+', 'mx', ''],
      ['mechanism', '~', 'include', '_spf.X.fr'],
      ['mechanism', '+', 'ip6', '2001:db8::/32'],
      ['modifier', '+', 'redirect', '_spf.y.fr'],
      ['unknown', '+', 'foo', ''],
    ],
  );
});

test("OVH's include goes before `all`, else before `redirect=`, every other term kept as written", () => {
  const cases: [string, string][] = [
    ['v=spf1 include:_spf.google.com ~all', 'v=spf1 include:_spf.google.com include:mx.ovh.com ~all'],
    ['v=spf1  ip4:192.0.2.0/24   a -all', 'v=spf1  ip4:192.0.2.0/24   a include:mx.ovh.com -all'],
    ['v=spf1 mx redirect=_spf.x.fr', 'v=spf1 mx include:mx.ovh.com redirect=_spf.x.fr'],
    ['v=spf1 redirect=_spf.x.fr ?all', 'v=spf1 redirect=_spf.x.fr include:mx.ovh.com ?all'],
    ['v=spf1 mx', 'v=spf1 mx include:mx.ovh.com'],
    ['v=spf1 mx exp=explain.x.fr -all', 'v=spf1 mx exp=explain.x.fr include:mx.ovh.com -all'],
  ];
  for (const [before, after] of cases) assert.deepEqual(withInclude(before), { changed: true, record: after }, before);
  for (const present of ['v=spf1 include:mx.ovh.com ~all', 'v=spf1 +include:MX.OVH.COM -all']) {
    assert.deepEqual(withInclude(present), { changed: false, record: present });
  }
  assert.equal(OVH_DEFAULT_SPF, 'v=spf1 include:mx.ovh.com ~all');
});

test('the look-up count follows includes and redirects by DNS, counting every DNS-querying term', async () => {
  const dns = zone({
    '_spf.google.com': 'v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all',
    '_netblocks.google.com': 'v=spf1 ip4:35.190.247.0/24 ~all',
    '_netblocks2.google.com': 'v=spf1 ip6:2001:4860:4000::/36 ~all',
    'mx.ovh.com': 'v=spf1 redirect=_spf.mx.ovh.com',
    '_spf.mx.ovh.com': 'v=spf1 a:mx.ovh.com ptr exists:%{i}.spf.ovh.com ip4:46.105.0.0/16 ~all',
  });
  const count = await countLookups(
    'v=spf1 a mx include:_spf.google.com include:mx.ovh.com redirect=ignored.x.fr ~all',
    dns.resolve,
    'x.fr',
  );
  // a, mx, include google (+2 nested), include ovh (+ redirect, + a, ptr, exists); the top redirect is ignored by `all`.
  assert.equal(count.count, 10);
  assert.equal(count.overLimit, false);
  assert.deepEqual(
    count.counted.map((c) => `${c.at}: ${c.term}`),
    [
      'x.fr: a',
      'x.fr: mx',
      'x.fr: include:_spf.google.com',
      '_spf.google.com: include:_netblocks.google.com',
      '_spf.google.com: include:_netblocks2.google.com',
      'x.fr: include:mx.ovh.com',
      'mx.ovh.com: redirect=_spf.mx.ovh.com',
      '_spf.mx.ovh.com: a:mx.ovh.com',
      '_spf.mx.ovh.com: ptr',
      '_spf.mx.ovh.com: exists:%{i}.spf.ovh.com',
    ],
  );
  assert.deepEqual(count.problems, []);
  assert.ok(!dns.asked.includes('ignored.x.fr'), 'a redirect beside `all` is not looked up');
});

test('loops stop, void look-ups and targets without SPF are said', async () => {
  const dns = zone({
    'a.example': 'v=spf1 include:b.example -all',
    'b.example': 'v=spf1 include:a.example -all',
    'no-spf.example': 'some other text',
    'two.example': ['v=spf1 -all', 'v=spf1 mx -all'],
  });
  const loop = await countLookups('v=spf1 include:a.example -all', dns.resolve, 'x.fr');
  assert.equal(loop.count, 3);
  assert.match(loop.problems.join('\n'), /b\.example: `include:a\.example` loops back to a\.example/);

  const voids = await countLookups(
    'v=spf1 include:gone1.example include:gone2.example include:gone3.example include:no-spf.example include:two.example -all',
    dns.resolve,
    'x.fr',
  );
  assert.equal(voids.voidLookups, 3);
  assert.equal(voids.overLimit, true, 'three void look-ups: over the limit of 2');
  assert.match(voids.problems.join('\n'), /no-spf\.example has no SPF record/);
  assert.match(voids.problems.join('\n'), /two\.example has several SPF records/);
});

test('an include reached twice by two paths costs its look-ups twice, as at a receiver', async () => {
  const dns = zone({
    'left.example': 'v=spf1 include:shared.example -all',
    'right.example': 'v=spf1 include:shared.example -all',
    'shared.example': 'v=spf1 a mx -all',
  });
  const count = await countLookups('v=spf1 include:left.example include:right.example -all', dns.resolve);
  assert.equal(count.count, 8);
  assert.deepEqual(count.problems, []);
});

test('the SPF plan: the default where none, the include added beside others, refused past 10, two records said', async () => {
  const dns = zone({
    'mx.ovh.com': 'v=spf1 a ptr ~all',
    '_spf.google.com': 'v=spf1 include:_netblocks.google.com ~all',
    '_netblocks.google.com': 'v=spf1 ip4:35.190.247.0/24 ~all',
  });
  const none = await planSpf('x.fr', [], dns.resolve);
  assert.deepEqual([none.kind, 'after' in none && none.after], ['change', OVH_DEFAULT_SPF]);
  assert.equal(none.kind === 'change' && none.lookups.count, 3);

  const others = await planSpf('x.fr', ['v=spf1 include:_spf.google.com ~all'], dns.resolve);
  assert.equal(others.kind, 'change');
  assert.equal(others.kind === 'change' && others.after, 'v=spf1 include:_spf.google.com include:mx.ovh.com ~all');
  assert.equal(others.kind === 'change' && others.lookups.count, 5);

  const crowded = 'v=spf1 a mx ptr include:_spf.google.com exists:x.fr a:b.fr mx:c.fr ~all';
  const refused = await planSpf('x.fr', [crowded], dns.resolve);
  assert.equal(refused.kind, 'refused');
  assert.equal(refused.kind === 'refused' && refused.lookups.count, 11);
  assert.equal(refused.kind === 'refused' && refused.before, crowded);

  const present = await planSpf('x.fr', ['v=spf1 include:mx.ovh.com -all'], dns.resolve);
  assert.equal(present.kind, 'present');

  const two = await planSpf('x.fr', ['v=spf1 -all', 'v=spf1 include:mx.ovh.com ~all'], dns.resolve);
  assert.deepEqual(two, { kind: 'permerror', records: ['v=spf1 -all', 'v=spf1 include:mx.ovh.com ~all'] });
});

test('DMARC: none, one with its tags, two is invalid and said', () => {
  assert.deepEqual(findDmarc(['v=spf1 -all']), { kind: 'none' });
  const one = findDmarc(['v=DMARC1; P=Reject; rua=mailto:a@x.fr;']);
  assert.equal(one.kind, 'one');
  assert.deepEqual(one.kind === 'one' && one.tags, [
    { name: 'v', key: 'v', value: 'DMARC1' },
    { name: 'P', key: 'p', value: 'Reject' },
    { name: 'rua', key: 'rua', value: 'mailto:a@x.fr' },
  ]);
  const two = findDmarc(['v=DMARC1; p=none', 'v=DMARC1; p=reject']);
  assert.equal(two.kind, 'invalid');
  assert.match(two.kind === 'invalid' ? two.reason : '', /2 DMARC records/);
});

test('the initial DMARC record, and the bot’s rua added only where missing', () => {
  assert.equal(
    initialDmarc('dmarc@reports.example.fr'),
    'v=DMARC1; p=none; rua=mailto:dmarc@reports.example.fr; adkim=r; aspf=r',
  );
  assert.equal(initialDmarc('mailto:dmarc@reports.example.fr'), initialDmarc('dmarc@reports.example.fr'));
  assert.throws(() => initialDmarc('a@x.fr,mailto:evil@y.fr'), /not a report address/);

  const bot = 'dmarc@reports.example.fr';
  assert.deepEqual(withRua('v=DMARC1; p=quarantine; pct=50', bot), {
    changed: true,
    record: 'v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.example.fr; pct=50',
  });
  assert.deepEqual(withRua('v=DMARC1;p=none;rua=mailto:them@vendor.example;ruf=mailto:f@x.fr', bot), {
    changed: true,
    record: 'v=DMARC1; p=none; rua=mailto:them@vendor.example,mailto:dmarc@reports.example.fr; ruf=mailto:f@x.fr',
  });
  const present = 'v=DMARC1; p=none; rua=mailto:them@vendor.example, MAILTO:Dmarc@Reports.Example.fr!10m';
  assert.deepEqual(withRua(present, bot), { changed: false, record: present });
});

test('a policy goes up by step-up and down only by rollback, every other tag kept', () => {
  const record = 'v=DMARC1; p=none; sp=none; rua=mailto:a@x.fr; adkim=r; t=y';
  assert.deepEqual(withPolicy(record, 'quarantine', 'step-up'), {
    ok: true,
    record: 'v=DMARC1; p=quarantine; sp=none; rua=mailto:a@x.fr; adkim=r; t=y',
  });
  assert.equal(withPolicy('v=DMARC1; p=reject', 'quarantine', 'step-up').ok, false);
  assert.equal(withPolicy('v=DMARC1; p=quarantine', 'quarantine', 'step-up').ok, false);
  assert.deepEqual(withPolicy('v=DMARC1; p=reject; rua=mailto:a@x.fr', 'quarantine', 'rollback'), {
    ok: true,
    record: 'v=DMARC1; p=quarantine; rua=mailto:a@x.fr',
  });
  assert.equal(withPolicy('v=DMARC1; p=none', 'quarantine', 'rollback').ok, false);
  assert.deepEqual(withPolicy('v=DMARC1; rua=mailto:a@x.fr', 'quarantine', 'step-up'), {
    ok: true,
    record: 'v=DMARC1; p=quarantine; rua=mailto:a@x.fr',
  });
});

test('reading p, sp, pct, t and rua', () => {
  assert.deepEqual(readPolicy('v=DMARC1; P=Quarantine; SP=reject; pct=25; t=y; rua=mailto:a@x.fr,mailto:b@y.fr'), {
    p: 'quarantine',
    pInvalid: false,
    sp: 'reject',
    pct: 25,
    t: true,
    rua: ['mailto:a@x.fr', 'mailto:b@y.fr'],
  });
  assert.deepEqual(readPolicy('v=DMARC1; p=bogus; pct=250'), { p: 'none', pInvalid: true, rua: [] });
});

test('relaxed alignment without the public-suffix list: equal, or one a subdomain of the other', () => {
  assert.equal(relaxedAligned('example.fr', 'EXAMPLE.fr.'), true);
  assert.equal(relaxedAligned('mail.example.fr', 'example.fr'), true);
  assert.equal(relaxedAligned('example.fr', 'news.example.fr'), true);
  assert.equal(relaxedAligned('badexample.fr', 'example.fr'), false);
  assert.equal(relaxedAligned('sendgrid.net', 'example.fr'), false);
  assert.equal(relaxedAligned('', 'example.fr'), false);
});

test("one answer to 'does the SPF include mx.ovh.com?' for the scan and /dkim dmarc: a final dot counts, a `-` does not", () => {
  assert.equal(readSpf(['v=spf1 include:mx.ovh.com. ~all']).state, 'ok');
  assert.deepEqual(withInclude('v=spf1 include:MX.ovh.com. ~all'), {
    changed: false,
    record: 'v=spf1 include:MX.ovh.com. ~all',
  });
  assert.equal(readSpf(['v=spf1 -include:mx.ovh.com ~all']).state, 'no_ovh_include');
  assert.equal(withInclude('v=spf1 -include:mx.ovh.com ~all').changed, true);
});
