import { test } from 'node:test';
import { sweep } from './restart-harness.ts';

/** The restart sweep (see restart-harness.ts) of a rotation, after a setup that is not killed. */

test('rotate: killed at every step boundary, no second enable, no double delete, no lost message', () =>
  sweep('rotate'));
