import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDomain, relativeName, showDomain } from '../src/domain/names.ts';
import { HOSTILE_DOMAINS } from './fixtures.ts';

test('hostile and malformed domain strings each get a clear error', () => {
  assert.ok(HOSTILE_DOMAINS.length >= 20);
  for (const input of HOSTILE_DOMAINS) {
    const result = parseDomain(input);
    assert.equal(result.ok, false, `accepted ${JSON.stringify(input)}`);
    if (!result.ok) {
      assert.ok(result.error.length > 10, `vague error for ${JSON.stringify(input)}`);
      assert.ok(
        !/[\n\r]/.test(result.error) && !result.error.includes('\u0000'),
        'errors never echo control characters',
      );
    }
  }
});

test('names are lower-cased, lose their final dot and become punycode', () => {
  assert.deepEqual(parseDomain('Example.FR.'), { ok: true, domain: { ascii: 'example.fr', unicode: 'example.fr' } });
  assert.deepEqual(parseDomain(' café.fr '), { ok: true, domain: { ascii: 'xn--caf-dma.fr', unicode: 'café.fr' } });
  assert.deepEqual(parseDomain('xn--caf-dma.fr'), {
    ok: true,
    domain: { ascii: 'xn--caf-dma.fr', unicode: 'café.fr' },
  });
  const idn = parseDomain('ÉCOLE.fr');
  assert.ok(idn.ok);
  assert.equal(showDomain(idn.domain), 'école.fr (xn--cole-9oa.fr)');
});

test('relative names inside a zone', () => {
  assert.equal(relativeName('sel._domainkey.example.fr', 'example.fr'), 'sel._domainkey');
  assert.equal(relativeName('sel._domainkey.mail.example.fr.', 'example.fr'), 'sel._domainkey.mail');
  assert.equal(relativeName('example.fr', 'example.fr'), '');
  assert.equal(relativeName('other.fr', 'example.fr'), undefined);
});
