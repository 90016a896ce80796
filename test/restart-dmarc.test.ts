import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runWithKill, sweep } from './restart-harness.ts';

/** The restart sweep (see restart-harness.ts) of `/dkim dmarc`, after a setup that is not killed. */

test('dmarc: killed at every step boundary, SPF and DMARC each written once, no lost message', async () => {
  const clean = await runWithKill(undefined, 'dmarc');
  assert.deepEqual(clean.txt.sort(), [
    ' "v=spf1 include:mx.ovh.com ~all"',
    '_dmarc "v=DMARC1; p=none; rua=mailto:dmarc-reports@reports.example.net; adkim=r; aspf=r"',
  ]);
  await sweep('dmarc');
});
