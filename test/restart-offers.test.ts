import { test } from 'node:test';
import { sweep } from './restart-harness.ts';

/** The restart sweep (see restart-harness.ts) of the other offers' setups. */

test('Email Pro: killed at every step boundary, the bot completes like Exchange', () => sweep('pro'));

test('MX Plan, OVH writing the records: killed at every step boundary, one enable, two records', async () => {
  await sweep('mxplan');
});

test('MX Plan, OVH asking for the records: killed at every step boundary, the bot writes them once and enables again once', async () => {
  await sweep('mxplan-asks');
});
