import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { createDnsChecker, hasDkimKey } from '../src/providers/dns.ts';
import { ProviderError } from '../src/providers/errors.ts';

test('a resolver that does not answer is a transient error, not an answer about the name', async () => {
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const dns = createDnsChecker([`127.0.0.1:${silent.address().port}`], 100);
    await assert.rejects(
      dns.cname('x.example.fr'),
      (error) => error instanceof ProviderError && error.kind === 'transient',
    );
    await assert.rejects(
      dns.txt('x.example.fr'),
      (error) => error instanceof ProviderError && error.kind === 'transient',
    );
  } finally {
    silent.close();
  }
});

test('a DKIM key record needs v=DKIM1 and a non-empty p=', () => {
  assert.equal(hasDkimKey(['v=DKIM1; k=rsa; p=MIIBIjAN']), true);
  assert.equal(hasDkimKey(['v=DKIM1; k=rsa; p=']), false);
  assert.equal(hasDkimKey(['v=spf1 -all']), false);
  assert.equal(hasDkimKey([]), false);
});
