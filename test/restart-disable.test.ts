import { test } from 'node:test';
import { sweep } from './restart-harness.ts';

/** The restart sweep (see restart-harness.ts) of turning DKIM off, after a setup that is not killed. */

test('disable: killed at every step boundary, one disable, no lost message', () => sweep('disable'));
