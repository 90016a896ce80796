import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { batchSignature, composeOrder, orderSchema, signOrder } from '../src/domain/batch.ts';
import { seeded } from './harness.ts';

/** The Perl script of OVH's batch-mail documentation (docs/sources/ovh-batch-mail-orders.txt), unchanged in substance: read the file line by line, prepend the passphrase, strip \s, MD5. */
const SEED_PERL = `
use strict;
use Digest::MD5 qw(md5_hex);
open(P, $ARGV[0]); my $passphrase = do { local $/; <P> }; close(P);
for my $file (@ARGV[1..$#ARGV]) {
  my $body;
  open (F, $file);
  while(<F>) { $body.=$_; }
  close(F);
  my $texte_a_hasher = $passphrase.$body;
  $texte_a_hasher =~ s/\\s//g;
  print md5_hex($texte_a_hasher), "\\n";
}
`;

function randomBody(random: () => number, i: number): string {
  const pieces = [
    'batch.version: 4.0',
    'order.domain.name: café.fr',
    'contact.owner.city: Besançon',
    'ÉLÉONORE',
    'naïve ',
    '日本',
    '\t',
    '  ',
    'x',
    'ü',
    'no\u00a0break',
    'em\u2003space',
    '\v\f',
  ];
  const endings = ['\n', '\r\n', ' \n', '\t\r\n', '  \r\n', '\n\n'];
  let body = '';
  const lines = 3 + Math.floor(random() * 12);
  for (let l = 0; l < lines; l++) {
    const words = 1 + Math.floor(random() * 5);
    for (let w = 0; w < words; w++) body += pieces[Math.floor(random() * pieces.length)]!;
    body += endings[Math.floor(random() * endings.length)]!;
  }
  return i % 7 === 0 ? body.trimEnd() : body;
}

test("the signer matches the documentation's Perl script on 200 bodies with accents, tabs, CRLF and trailing spaces", () => {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-md5-'));
  const passphrase = 'Ma PassPhrase\tQui Est Unique é';
  writeFileSync(join(dir, 'passphrase'), passphrase, 'utf8');
  const random = seeded(2024);
  const bodies = Array.from({ length: 200 }, (_, i) => randomBody(random, i));
  const files = bodies.map((body, i) => {
    const file = join(dir, `email-${i}.txt`);
    writeFileSync(file, body, 'utf8');
    return file;
  });
  writeFileSync(join(dir, 'sign.pl'), SEED_PERL);
  const perl = execFileSync('perl', [join(dir, 'sign.pl'), join(dir, 'passphrase'), ...files], { encoding: 'utf8' })
    .trim()
    .split('\n');
  assert.equal(perl.length, 200);
  for (const [i, body] of bodies.entries()) {
    assert.equal(batchSignature(passphrase, body), perl[i], `body ${i}: ${JSON.stringify(body)}`);
  }
});

test("the documentation's renew example: layout, and the signature line appended with a newline", () => {
  const order = orderSchema.parse({ command: 'renew', domain: 'ovh.com' });
  const body = composeOrder(order, { account: 'XXXXX-ovh', referer: 'ma-ref-123456', autopayment: true });
  assert.equal(
    body,
    [
      'batch.version: 4.0',
      'batch.account: XXXXX-ovh',
      'batch.referer: ma-ref-123456',
      'batch.type: orderDomain',
      'batch.auth.method: md5',
      'batch.autopayment: yes',
      '',
      'order.domain.name: ovh.com',
      'order.domain.command: renew',
      '',
      '',
    ].join('\n'),
  );
  const signed = signOrder('MaPassPhraseQuiEstUnique', body);
  assert.match(signed, /\n\nbatch\.auth\.md5: [0-9a-f]{32}\n$/);
  assert.ok(signed.startsWith(body));
});
