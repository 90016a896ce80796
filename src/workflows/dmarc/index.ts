import { showRun } from '../../domain/names.ts';
import type { Workflow } from '../../engine/types.ts';
import { zonesOf } from '../setup/facts.ts';
import type { DmarcFacts } from './facts.ts';
import { readRecords } from './plan.ts';
import { isRecordOf, readTxt } from './records.ts';
import { verifyRecords, writeRecords } from './write.ts';

/**
 * `/dkim dmarc` and the journey's proposals (DESIGN §2.8): the domain's SPF and DMARC read, the changes shown on one
 * card as *before → after*, and once approved written in the OVH zone (or handed over) and checked in DNS.
 */
export const dmarcWorkflow: Workflow = {
  kind: 'dmarc',
  firstState: 'reading_records',
  waitingStates: ['reading_records', 'writing_records', 'verifying'],
  beforeApproval: () => 'reading_records',
  afterApproval: () => 'writing_records',
  approvedStates: ['writing_records'],

  async step(run, ctx) {
    const facts = run.facts as DmarcFacts;
    switch (run.state) {
      case 'reading_records':
        return readRecords(run, facts, ctx);
      case 'writing_records':
        return writeRecords(run, facts, ctx);
      case 'verifying':
        return verifyRecords(run, facts, ctx);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  freshLook: (facts) => ({
    ...facts,
    signing: undefined,
    changes: undefined,
    written: undefined,
    handedOver: undefined,
  }),

  /** The card holds while every record it showed is still as it was (nothing written over a change made meanwhile). */
  async recheckApproval(run, approval, ctx) {
    const facts = run.facts as DmarcFacts;
    const zone = facts.zone ?? null;
    const zones = zone ? zonesOf(ctx) : undefined;
    const shown = (approval.snapshot as { changes?: { name: string; before: string | null }[] }).changes ?? [];
    for (const change of facts.changes ?? []) {
      const card = shown.find((c) => c.name === change.name);
      const now = await readTxt(run.domain, change.what, zone, zones, ctx);
      const still =
        change.before === null
          ? !now.some((t) => isRecordOf(t.text, change.what))
          : now.some((t) => t.text === change.before);
      if (!card || card.before !== change.before || !still) {
        return `the ${change.what === 'spf' ? 'SPF' : 'DMARC'} record of ${showRun(run)} changed since the card was posted.`;
      }
    }
    return undefined;
  },
};
