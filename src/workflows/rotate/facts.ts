import type { Run } from '../../domain/runs.ts';
import { need } from '../../engine/invariant.ts';
import type { StepContext } from '../../engine/types.ts';
import type { KeyedDkimApi } from '../../providers/ovh-mail.ts';
import { type KeyedSetupFacts, keyedApi } from '../setup/facts.ts';

/** What a rotation keeps between its steps. */

export interface RotateParams extends Record<string, unknown> {
  offer?: 'exchange' | 'pro';
  org?: string;
  service?: string;
  /** Selectors whose CNAME the bot wrote, as earlier runs recorded it: the only records it may point elsewhere. */
  written?: string[];
}

export interface RotateFacts extends KeyedSetupFacts {
  /** A, signing when the rotation began; B, the spare that takes over. */
  old?: string;
  spare?: string;
  written?: string[];
  spareHandedOver?: boolean;
  spareCreated?: boolean;
  lastStatusAt?: number;
  /** When B was seen in production, and when the grace period ends. */
  switchedAt?: number;
  graceEndsAt?: number;
  rekeyed?: boolean;
  /** A's fresh record once its key is made, and whether its CNAME had to change. */
  freshTarget?: string;
  cnameChanged?: 'updated' | 'handed over' | 'unchanged' | 'created';
}

export function oldOf(facts: RotateFacts): string {
  return need(facts.old, 'the old selector');
}

export function spareOf(facts: RotateFacts): string {
  return need(facts.spare, 'the spare selector');
}

export function keyed(run: Run, ctx: StepContext): KeyedDkimApi {
  return keyedApi(ctx, run.facts as RotateFacts, run.domain);
}
