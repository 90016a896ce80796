import type { DmarcPolicy } from '../../domain/dmarc-record.ts';
import type { Run } from '../../domain/runs.ts';
import type { SetupFacts, SetupParams } from '../setup/facts.ts';
import type { RecordChange } from './records.ts';

/** `/dkim dmarc` (DESIGN §2.8): what a dmarc run was asked, and what it keeps between its steps. */

export type DmarcAction = 'setup' | 'step-up' | 'rollback';

/** What the receivers' reports showed when the journey proposed a change (shown on its card). */
export interface Evidence {
  days: number;
  messages: number;
  dmarcPass: number;
  /** The failing sources: what a stricter policy would have quarantined or rejected. */
  failing: { sourceIp: string; messages: number; reporters: string[] }[];
}

export interface DmarcParams extends SetupParams {
  action: DmarcAction;
  /** step-up, rollback: the policy asked for. */
  policy?: DmarcPolicy;
  evidence?: Evidence;
}

export interface DmarcFacts extends SetupFacts {
  /** The selectors (or MX Plan's `switch`) that sign: the domain must sign before its DMARC is tightened. */
  signing?: string[];
  /** Exchange: OVH's offer of the service; a Private Exchange sends from its own IP ranges, not mx.ovh.com. */
  privateExchange?: boolean;
  changes?: RecordChange[];
  /** The records DNS must serve when done: SPF (null: the bot leaves it) and DMARC. */
  expected?: { spf: string | null; dmarc: string };
  /** The changes made so far (by owner name). */
  written?: string[];
  handedOver?: boolean;
  looks?: number;
  postedDns?: string;
  lastObservation?: string;
}

export function paramsOf(run: Run): DmarcParams {
  return run.params as unknown as DmarcParams;
}
